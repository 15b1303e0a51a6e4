"""Shared input rules: ids, timezones, calendar strings and links."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import urllib.parse
import zoneinfo

from service.domain.errors import InvalidArgument

MAX_ID_LENGTH = 128
MAX_URL_LENGTH = 2048
_URL_SCHEMES = ("http", "https")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def check_id(field: str, value: str) -> str:
    """Return `value` when it is a usable id: 1 to 128 printable characters, not padded."""
    if not value:
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(field, f"must be at most {MAX_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidArgument(field, "must contain only printable characters")
    if value.strip() != value:
        # "ana" and "ana " would be two players, and "   " none at all.
        raise InvalidArgument(
            field, "must not be blank" if value.isspace() else "must not start or end with a space"
        )
    return value


def check_http_url(field: str, value: str) -> str:
    """Return `value` when it is an absolute http(s) URL with a host, or empty."""
    if not value:
        return value
    if len(value) > MAX_URL_LENGTH:
        raise InvalidArgument(field, f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
    except ValueError as exc:  # a malformed port or IPv6 literal
        raise InvalidArgument(field, "must be an http or https URL") from exc
    if parts.scheme.lower() not in _URL_SCHEMES or not host or not value.isprintable():
        raise InvalidArgument(field, "must be an http or https URL with a host")
    if any(c.isspace() for c in value):
        raise InvalidArgument(field, "must not contain spaces")
    return value


def parse_timezone(field: str, name: str) -> zoneinfo.ZoneInfo:
    """Return the IANA zone called `name`, or raise InvalidArgument naming `field`."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidArgument(field, f"unknown IANA timezone {name[:64]!r}") from exc


def parse_day(field: str, value: str) -> dt.date:
    """Parse a YYYY-MM-DD calendar day."""
    if _DAY.fullmatch(value):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value)
    raise InvalidArgument(field, f"must be a date as YYYY-MM-DD, got {value[:32]!r}")


def parse_month(field: str, value: str) -> dt.date:
    """Parse a YYYY-MM month into its first day."""
    if _MONTH.fullmatch(value):
        with contextlib.suppress(ValueError):
            return dt.date(int(value[:4]), int(value[5:]), 1)
    raise InvalidArgument(field, f"must be a month as YYYY-MM, got {value[:32]!r}")
