"""Shared input rules: ids, timezones and calendar strings."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from service.domain.errors import InvalidArgument

MAX_ID_LENGTH = 128


def check_id(field: str, value: str) -> str:
    """Return `value` when it is a usable id: 1 to 128 printable characters."""
    if not value:
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(field, f"must be at most {MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidArgument(field, "must contain only printable characters")
    return value


def parse_timezone(field: str, name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone called `name`, or raise InvalidArgument naming `field`."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(field, f"unknown IANA timezone {name[:64]!r}") from exc


def parse_day(field: str, value: str) -> dt.date:
    """Parse a YYYY-MM-DD calendar day."""
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_day(field, value)
    except ValueError:
        return _bad_day(field, value)


def _bad_day(field: str, value: str) -> dt.date:
    raise InvalidArgument(field, f"must be a date as YYYY-MM-DD, got {value[:32]!r}")


def parse_month(field: str, value: str) -> dt.date:
    """Parse a YYYY-MM month into its first day."""
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(value)
        return dt.date(int(year), int(month), 1)
    except ValueError as exc:
        raise InvalidArgument(field, f"must be a month as YYYY-MM, got {value[:32]!r}") from exc
