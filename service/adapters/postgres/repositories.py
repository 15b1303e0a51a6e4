"""Postgres implementations of the check-in, program and outbox ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres import codec
from service.adapters.postgres.driver import Driver
from service.adapters.postgres.tables import check_in_programs
from service.domain.check_in import DEFAULT_PROGRAM, CheckInProgram, DayRecord, StreakState
from service.domain.rewards import Grant

# Serialises program versions without blocking readers of the table.
_PROGRAM_LOCK_KEY = 0x636865636B696E  # "checkin"


_STREAK_COLUMNS = ", ".join(("user_id", *codec.STREAK_FIELDS))
_STREAK_PARAMS = ", ".join(f"${n}" for n in range(1, len(codec.STREAK_FIELDS) + 2))
_STREAK_SETS = ", ".join(f"{name} = ${n}" for n, name in enumerate(codec.STREAK_FIELDS, 2))
_DAY_COLUMNS = ", ".join(codec.DAY_FIELDS)
_DAY_SETS = ", ".join(f"{name} = ${n}" for n, name in enumerate(codec.DAY_FIELDS, 1))
_DAY_KEY = f"user_id = ${len(codec.DAY_FIELDS) + 1} and day = ${len(codec.DAY_FIELDS) + 2}"

# Prebuilt SQL run on the driver, which prepares each text once per connection: building
# and compiling SQLAlchemy statements per call cost more CPU than running them.
# The upsert takes the row's lock and returns it in one round trip, also for a new user.
_LOCK_STREAK = f"""
    insert into streaks ({_STREAK_COLUMNS}) values ({_STREAK_PARAMS})
    on conflict (user_id) do update set user_id = excluded.user_id
    returning {_STREAK_COLUMNS}
"""
_GET_STREAK = f"select {_STREAK_COLUMNS} from streaks where user_id = $1"
_SAVE_STREAK = f"update streaks set {_STREAK_SETS}, updated_at = now() where user_id = $1"
_GET_DAY = f"select {_DAY_COLUMNS} from check_ins where user_id = $1 and day = $2"
_DAYS_BETWEEN = f"""
    select {_DAY_COLUMNS} from check_ins
    where user_id = $1 and day between $2 and $3 order by day
"""
_ADD_DAY = f"""
    insert into check_ins ({_DAY_COLUMNS})
    values ({", ".join(f"${n}" for n in range(1, len(codec.DAY_FIELDS) + 1))})
"""
_REPLACE_DAY = f"update check_ins set {_DAY_SETS} where {_DAY_KEY}"


def _streak_args(state: StreakState) -> tuple[object, ...]:
    return (state.user_id, *(getattr(state, name) for name in codec.STREAK_FIELDS))


# What a user seen for the first time starts with; the user id goes in front.
_BLANK_STREAK_ARGS = _streak_args(StreakState(user_id=""))[1:]


def _day_args(record: DayRecord) -> tuple[object, ...]:
    return tuple(codec.day_to_row(record)[name] for name in codec.DAY_FIELDS)


class PostgresCheckIns:
    """Streaks and covered days; one round trip per call."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def lock_streak(self, user_id: str) -> StreakState:
        row = await self._driver.fetchrow(_LOCK_STREAK, user_id, *_BLANK_STREAK_ARGS)
        assert row is not None
        return codec.streak_from_row(row)

    async def get_streak(self, user_id: str) -> StreakState:
        row = await self._driver.fetchrow(_GET_STREAK, user_id)
        return codec.streak_from_row(row) if row else StreakState(user_id=user_id)

    async def save_streak(self, state: StreakState) -> None:
        await self._driver.execute(_SAVE_STREAK, *_streak_args(state))

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None:
        row = await self._driver.fetchrow(_GET_DAY, user_id, day)
        return codec.day_from_row(row) if row else None

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        rows = await self._driver.fetch(_DAYS_BETWEEN, user_id, first, last)
        return [codec.day_from_row(row) for row in rows]

    async def add_days(self, records: Sequence[DayRecord]) -> None:
        # executemany pipelines the rows: one round trip however many there are.
        if len(records) == 1:
            await self._driver.execute(_ADD_DAY, *_day_args(records[0]))
        elif records:
            await self._driver.executemany(_ADD_DAY, [_day_args(r) for r in records])

    async def replace_days(self, records: Sequence[DayRecord]) -> None:
        if records:
            rows = [(*_day_args(r), r.user_id, r.day) for r in records]
            await self._driver.executemany(_REPLACE_DAY, rows)


_CURRENT_PROGRAM = """
    select version, config, created_at from check_in_programs order by version desc limit 1
"""


class PostgresPrograms:
    """Check-in program versions."""

    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self._conn = conn
        self._driver = driver

    async def current(self) -> CheckInProgram:
        row = await self._driver.fetchrow(_CURRENT_PROGRAM)
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


_GRANT_FIELDS = (
    "idempotency_key", "user_id", "kind", "amount", "item_code", "reason", "cause_kind",
    "cause_ref", "definition_version", "cause_check_in", "valid_days", "expires_at",
)  # fmt: skip
_ADD_GRANT = f"""
    insert into grant_outbox ({", ".join(_GRANT_FIELDS)})
    values ({", ".join(f"${n}" for n in range(1, len(_GRANT_FIELDS) + 1))})
    on conflict (idempotency_key) do nothing
"""


def _grant_args(g: Grant, check_in: str | None) -> tuple[object, ...]:
    return (
        g.idempotency_key, g.user_id, str(g.reward.kind), g.reward.amount, g.reward.item_code,
        g.reason, g.cause_kind, g.cause_ref, g.definition_version, check_in,
        g.reward.valid_days, g.expires_at,
    )  # fmt: skip


class PostgresOutbox:
    """The grant outbox, written in the transaction of the state that caused the grants."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def add(self, grants: Sequence[Grant], check_in: DayRecord | None = None) -> None:
        cause = codec.day_to_json(check_in) if check_in else None
        if len(grants) == 1:
            await self._driver.execute(_ADD_GRANT, *_grant_args(grants[0], cause))
        elif grants:
            await self._driver.executemany(_ADD_GRANT, [_grant_args(g, cause) for g in grants])
