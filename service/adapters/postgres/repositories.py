"""Postgres implementations of the check-in, program and outbox ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres import codec
from service.adapters.postgres.tables import check_in_programs, check_ins, grant_outbox, streaks
from service.domain.check_in import DEFAULT_PROGRAM, CheckInProgram, DayRecord, StreakState
from service.domain.rewards import Grant

_BLANK_STREAK = codec.streak_to_row(StreakState(user_id=""))
# Serialises program versions without blocking readers of the table.
_PROGRAM_LOCK_KEY = 0x636865636B696E  # "checkin"


def _lock_streak_statement() -> sa.Insert:
    # An upsert that touches the row takes its lock and returns it in one round trip,
    # also for a user seen for the first time.
    new = insert(streaks).values({name: sa.bindparam(name) for name in _BLANK_STREAK})
    return new.on_conflict_do_update(
        index_elements=[streaks.c.user_id], set_={"user_id": new.excluded.user_id}
    ).returning(*streaks.c)


# Statements are built once: composing them per call cost more CPU than running them.
_LOCK_STREAK = _lock_streak_statement()
_GET_STREAK = sa.select(streaks).where(streaks.c.user_id == sa.bindparam("user_id"))
_SAVE_STREAK = (
    sa.update(streaks)
    .where(streaks.c.user_id == sa.bindparam("key_user_id"))
    .values(updated_at=sa.func.now())
)
_DAY = (check_ins.c.user_id == sa.bindparam("key_user_id")) & (
    check_ins.c.day == sa.bindparam("key_day")
)
_GET_DAY = sa.select(check_ins).where(_DAY)
_DAYS_BETWEEN = (
    sa.select(check_ins)
    .where(
        check_ins.c.user_id == sa.bindparam("user_id"),
        check_ins.c.day.between(sa.bindparam("first"), sa.bindparam("last")),
    )
    .order_by(check_ins.c.day)
)
_ADD_DAYS = sa.insert(check_ins)
_REPLACE_DAY = sa.update(check_ins).where(_DAY)


class PostgresCheckIns:
    """Streaks and covered days; one round trip per call."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_streak(self, user_id: str) -> StreakState:
        params = {**_BLANK_STREAK, "user_id": user_id}
        row = (await self._conn.execute(_LOCK_STREAK, params)).mappings().one()
        return codec.streak_from_row(row)

    async def get_streak(self, user_id: str) -> StreakState:
        result = await self._conn.execute(_GET_STREAK, {"user_id": user_id})
        row = result.mappings().one_or_none()
        return codec.streak_from_row(row) if row else StreakState(user_id=user_id)

    async def save_streak(self, state: StreakState) -> None:
        row = codec.streak_to_row(state)
        await self._conn.execute(_SAVE_STREAK, {**row, "key_user_id": state.user_id})

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None:
        result = await self._conn.execute(_GET_DAY, {"key_user_id": user_id, "key_day": day})
        row = result.mappings().one_or_none()
        return codec.day_from_row(row) if row else None

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        params = {"user_id": user_id, "first": first, "last": last}
        result = await self._conn.execute(_DAYS_BETWEEN, params)
        return [codec.day_from_row(row) for row in result.mappings()]

    async def add_days(self, records: Sequence[DayRecord]) -> None:
        if records:
            await self._conn.execute(_ADD_DAYS, [codec.day_to_row(r) for r in records])

    async def replace_days(self, records: Sequence[DayRecord]) -> None:
        if records:
            rows = [
                {**codec.day_to_row(r), "key_user_id": r.user_id, "key_day": r.day} for r in records
            ]
            await self._conn.execute(_REPLACE_DAY, rows)


_CURRENT_PROGRAM = (
    sa.select(check_in_programs).order_by(check_in_programs.c.version.desc()).limit(1)
)


class PostgresPrograms:
    """Check-in program versions."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def current(self) -> CheckInProgram:
        row = (await self._conn.execute(_CURRENT_PROGRAM)).mappings().one_or_none()
        return codec.program_from_row(row) if row else DEFAULT_PROGRAM

    async def add(self, program: CheckInProgram) -> CheckInProgram:
        await self._conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PROGRAM_LOCK_KEY)))
        next_version = sa.select(sa.func.coalesce(sa.func.max(check_in_programs.c.version), 0) + 1)
        stmt = (
            sa.insert(check_in_programs)
            .values(version=next_version.scalar_subquery(), config=codec.program_to_json(program))
            .returning(*check_in_programs.c)
        )
        row = (await self._conn.execute(stmt)).mappings().one()
        return codec.program_from_row(row)


_ADD_GRANTS = insert(grant_outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])


class PostgresOutbox:
    """The grant outbox, written in the transaction of the state that caused the grants."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, grants: Sequence[Grant]) -> None:
        if not grants:
            return
        rows = [
            {
                "idempotency_key": g.idempotency_key,
                "user_id": g.user_id,
                "kind": str(g.reward.kind),
                "amount": g.reward.amount,
                "item_code": g.reward.item_code,
                "reason": g.reason,
                "cause_kind": g.cause_kind,
                "cause_ref": g.cause_ref,
                "definition_version": g.definition_version,
            }
            for g in grants
        ]
        await self._conn.execute(_ADD_GRANTS, rows)
