"""A user's exported rows as the privacy API's messages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf.message import Message

from service.app.privacy.ports import Erasure, Row, UserData
from service.gen.engagement.v1 import privacy_pb2 as pb
from service.protobuf_time import timestamp

# Columns every export message leaves out: the user id itself, stated once at the top.
_USER_COLUMNS = ("user_id", "member_id")


def _plain(value: Any) -> Any:
    """A column value as the message field takes it: instants as Timestamps, dates as ISO."""
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _message(cls: type[Message], row: Row, renamed: dict[str, str] | None = None) -> Any:
    """The message whose fields are named like the row's columns (or `renamed`)."""
    names = {f.name for f in cls.DESCRIPTOR.fields}
    fields: dict[str, Any] = {}
    for column, value in row.items():
        name = (renamed or {}).get(column, column)
        if name in names and value is not None and column not in _USER_COLUMNS:
            fields[name] = list(value) if isinstance(value, list | tuple) else _plain(value)
    return cls(**fields)


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def table_rows(table: str, rows: Sequence[Row]) -> pb.TableRows:
    encoded = [json.dumps(dict(r), default=_json_default, sort_keys=True) for r in rows]
    return pb.TableRows(table=table, rows_json=encoded)


def _event(row: Row) -> pb.ExportedEvent:
    event: pb.ExportedEvent = _message(pb.ExportedEvent, row, {"review": "flagged"})
    event.attributes.update({str(k): str(v) for k, v in dict(row["attributes"]).items()})
    event.effects_json = json.dumps(row["effects"], sort_keys=True)
    return event


def _one(rows: Sequence[Row], cls: type[Message]) -> Any:
    return _message(cls, rows[0]) if rows else None


# The structured parts: table, field of UserData, and how one row becomes one message.
_PARTS: tuple[tuple[str, str, Callable[[Row], Any]], ...] = (
    ("check_ins", "check_ins", lambda r: _message(pb.ExportedCheckIn, r)),
    ("task_states", "tasks", lambda r: _message(pb.ExportedTaskProgress, r)),
    ("badge_states", "badges", lambda r: _message(pb.ExportedBadge, r)),
    ("board_scores", "board_scores", lambda r: _message(pb.ExportedBoardScore, r)),
    ("board_members", "board_members", lambda r: _message(pb.ExportedBoardMember, r)),
    (
        "grant_outbox",
        "grants",
        lambda r: _message(pb.ExportedGrant, r, {"idempotency_key": "grant_id"}),
    ),
    ("rule_events", "events", _event),
)
_SINGLE = {
    "streaks": ("streak", pb.ExportedStreak),
    "rule_profiles": ("profile", pb.ExportedProfile),
}


def user_data_to_pb(data: UserData) -> pb.UserData:
    message = pb.UserData(user_id=data.user_id)
    for table, (name, cls) in _SINGLE.items():
        found = _one(data.rows(table), cls)
        if found is not None:
            getattr(message, name).CopyFrom(found)
    for table, name, convert in _PARTS:
        getattr(message, name).extend(convert(row) for row in data.rows(table))
    done = {*_SINGLE, *(table for table, _, _ in _PARTS)}
    message.other_tables.extend(
        table_rows(table, rows) for table, rows in sorted(data.tables.items()) if table not in done
    )
    return message


def erasure_to_pb(erasure: Erasure) -> pb.DeleteUserDataResponse:
    return pb.DeleteUserDataResponse(
        erased=erasure.changed,
        pseudonym=erasure.pseudonym,
        deleted_rows={table: n for table, n in erasure.deleted.items() if n},
        grants_cancelled=erasure.grants_cancelled,
        grants_kept=erasure.grants_kept,
        board_periods=len(erasure.board_keys),
    )
