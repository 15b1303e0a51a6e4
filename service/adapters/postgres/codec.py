"""Conversions between domain values and Postgres rows or JSON documents."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from service.adapters.postgres import documents
from service.domain.check_in import CheckInProgram, DayRecord, DayStatus, StreakState

# Stored in columns of their own.
_PROGRAM_COLUMNS = ("version", "created_at")


def program_to_json(program: CheckInProgram) -> dict[str, Any]:
    """The program's rules as a JSON document; version and time live in their own columns."""
    return documents.to_document(program, _PROGRAM_COLUMNS)


def program_from_row(row: Mapping[Any, Any]) -> CheckInProgram:
    program: CheckInProgram = documents.from_document(
        CheckInProgram, row["config"], **{name: row[name] for name in _PROGRAM_COLUMNS}
    )
    return program


# Column names follow the domain's field names, so the lists are the dataclasses' own.
STREAK_FIELDS = tuple(f.name for f in dataclasses.fields(StreakState) if f.name != "user_id")
DAY_FIELDS = tuple(f.name for f in dataclasses.fields(DayRecord))


def streak_from_row(row: Mapping[Any, Any]) -> StreakState:
    return StreakState(user_id=row["user_id"], **{name: row[name] for name in STREAK_FIELDS})


def day_to_row(record: DayRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in DAY_FIELDS} | {"status": str(record.status)}


def day_from_row(row: Mapping[Any, Any]) -> DayRecord:
    return DayRecord(**{**row, "status": DayStatus(row["status"])})


def day_to_json(record: DayRecord) -> str:
    """The day record as a JSON document: dates and instants in ISO 8601."""
    return json.dumps({k: _iso(v) for k, v in day_to_row(record).items()}, sort_keys=True)


def day_from_json(document: str | Mapping[str, Any]) -> DayRecord:
    doc = json.loads(document) if isinstance(document, str) else document
    return DayRecord(
        user_id=doc["user_id"], day=dt.date.fromisoformat(doc["day"]),
        status=DayStatus(doc["status"]), at=dt.datetime.fromisoformat(doc["at"]),
        timezone=doc["timezone"], cycle_day=int(doc["cycle_day"]), streak=int(doc["streak"]),
        streak_started_on=dt.date.fromisoformat(doc["streak_started_on"]),
        program_version=int(doc["program_version"]),
    )  # fmt: skip


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value
