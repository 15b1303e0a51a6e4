"""Conversions between domain values and Postgres rows or JSON documents."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from service.domain.check_in import CheckInProgram, DayRecord, DayStatus, Milestone, StreakState
from service.domain.rewards import Reward, RewardKind


def reward_to_json(reward: Reward) -> dict[str, Any]:
    doc = {"kind": str(reward.kind), "amount": reward.amount, "item_code": reward.item_code}
    # Written only when set: documents stored before rewards could expire read the same.
    return {**doc, "valid_days": reward.valid_days} if reward.valid_days else doc


def reward_from_json(doc: Mapping[str, Any]) -> Reward:
    kind, amount, item_code = RewardKind(doc["kind"]), int(doc["amount"]), str(doc["item_code"])
    return Reward(kind, amount, item_code, int(doc.get("valid_days", 0)))


def program_to_json(program: CheckInProgram) -> dict[str, Any]:
    """The program's rules as a JSON document; version and time live in their own columns."""
    return {
        "cycle": [[reward_to_json(r) for r in day] for day in program.cycle],
        "cycle_restarts_on_break": program.cycle_restarts_on_break,
        "milestones": [
            {"days": m.days, "rewards": [reward_to_json(r) for r in m.rewards]}
            for m in program.milestones
        ],
        "starting_freezes": program.starting_freezes,
        "freeze_earned_every_days": program.freeze_earned_every_days,
        "max_freezes": program.max_freezes,
        "make_up_window_days": program.make_up_window_days,
        "make_up_tickets_per_month": program.make_up_tickets_per_month,
    }


def program_from_row(row: Mapping[Any, Any]) -> CheckInProgram:
    doc = row["config"]
    return CheckInProgram(
        version=row["version"],
        cycle=tuple(tuple(reward_from_json(r) for r in day) for day in doc["cycle"]),
        cycle_restarts_on_break=doc["cycle_restarts_on_break"],
        milestones=tuple(
            Milestone(m["days"], tuple(reward_from_json(r) for r in m["rewards"]))
            for m in doc["milestones"]
        ),
        starting_freezes=doc["starting_freezes"],
        freeze_earned_every_days=doc["freeze_earned_every_days"],
        max_freezes=doc["max_freezes"],
        make_up_window_days=doc["make_up_window_days"],
        make_up_tickets_per_month=doc["make_up_tickets_per_month"],
        created_at=row["created_at"],
    )


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
