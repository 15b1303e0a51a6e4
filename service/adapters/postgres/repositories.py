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


class PostgresCheckIns:
    """Streaks and covered days; one round trip per call."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_streak(self, user_id: str) -> StreakState:
        # An upsert that touches the row takes its lock and returns it in one round trip,
        # also for a user seen for the first time.
        new = insert(streaks).values({**_BLANK_STREAK, "user_id": user_id})
        stmt = new.on_conflict_do_update(
            index_elements=[streaks.c.user_id], set_={"user_id": new.excluded.user_id}
        ).returning(*streaks.c)
        row = (await self._conn.execute(stmt)).mappings().one()
        return codec.streak_from_row(row)

    async def get_streak(self, user_id: str) -> StreakState:
        stmt = sa.select(streaks).where(streaks.c.user_id == user_id)
        row = (await self._conn.execute(stmt)).mappings().one_or_none()
        return codec.streak_from_row(row) if row else StreakState(user_id=user_id)

    async def save_streak(self, state: StreakState) -> None:
        row = codec.streak_to_row(state)
        stmt = (
            sa.update(streaks)
            .where(streaks.c.user_id == state.user_id)
            .values({**row, "updated_at": sa.func.now()})
        )
        await self._conn.execute(stmt)

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None:
        stmt = sa.select(check_ins).where(check_ins.c.user_id == user_id, check_ins.c.day == day)
        row = (await self._conn.execute(stmt)).mappings().one_or_none()
        return codec.day_from_row(row) if row else None

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        stmt = (
            sa.select(check_ins)
            .where(check_ins.c.user_id == user_id, check_ins.c.day.between(first, last))
            .order_by(check_ins.c.day)
        )
        return [codec.day_from_row(row) for row in (await self._conn.execute(stmt)).mappings()]

    async def add_days(self, records: Sequence[DayRecord]) -> None:
        if records:
            await self._conn.execute(
                sa.insert(check_ins), [codec.day_to_row(record) for record in records]
            )

    async def replace_days(self, records: Sequence[DayRecord]) -> None:
        for record in records:
            stmt = (
                sa.update(check_ins)
                .where(check_ins.c.user_id == record.user_id, check_ins.c.day == record.day)
                .values(codec.day_to_row(record))
            )
            await self._conn.execute(stmt)


class PostgresPrograms:
    """Check-in program versions."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def current(self) -> CheckInProgram:
        stmt = sa.select(check_in_programs).order_by(check_in_programs.c.version.desc()).limit(1)
        row = (await self._conn.execute(stmt)).mappings().one_or_none()
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
        stmt = insert(grant_outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
        await self._conn.execute(stmt, rows)
