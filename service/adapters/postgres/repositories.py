"""Postgres implementations of the check-in, program and outbox ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres import codec
from service.adapters.postgres.driver import Driver, Row
from service.adapters.postgres.tables import check_in_programs
from service.adapters.postgres.unnest import arrays, insert_unnest, params
from service.app.ports import StoredStreak
from service.domain.check_in import (
    DEFAULT_PROGRAM,
    CheckInOutcome,
    CheckInProgram,
    DayRecord,
    StreakState,
)
from service.domain.rewards import Grant

# Serialises program versions without blocking readers of the table.
_PROGRAM_LOCK_KEY = 0x636865636B696E  # "checkin"


_STREAK_COLUMNS = ", ".join(("user_id", *codec.STREAK_FIELDS))
_STREAK_PARAMS = ", ".join(f"${n}" for n in range(1, len(codec.STREAK_FIELDS) + 2))
_DAY_COLUMNS = ", ".join(codec.DAY_FIELDS)
_DAY_TYPES = (
    ("user_id", "text"), ("day", "date"), ("status", "text"), ("at", "timestamptz"),
    ("timezone", "text"), ("cycle_day", "int"), ("streak", "int"),
    ("streak_started_on", "date"), ("program_version", "bigint"),
)  # fmt: skip
assert tuple(name for name, _ in _DAY_TYPES) == codec.DAY_FIELDS
_GRANT_TYPES = (
    ("idempotency_key", "text"), ("user_id", "text"), ("kind", "text"), ("amount", "bigint"),
    ("item_code", "text"), ("reason", "text"), ("cause_kind", "text"), ("cause_ref", "text"),
    ("definition_version", "bigint"), ("cause_check_in", "jsonb"), ("valid_days", "int"),
    ("expires_at", "timestamptz"),
)  # fmt: skip
_GRANT_FIELDS = tuple(name for name, _ in _GRANT_TYPES)
# The user's stored timezone rides along with the streak: a check-in needs both.
_PROFILE_TIMEZONE = """
    coalesce((select p.timezone from rule_profiles as p where p.user_id = $1), '')
        as profile_timezone
"""

# Prebuilt SQL run on the driver, which prepares each text once per connection: building
# and compiling SQLAlchemy statements per call cost more CPU than running them.
# The upsert takes the row's lock and returns it in one round trip, also for a new user.
_LOCK_STREAK = f"""
    with locked as (
        insert into streaks ({_STREAK_COLUMNS}) values ({_STREAK_PARAMS})
        on conflict (user_id) do update set user_id = excluded.user_id
        returning {_STREAK_COLUMNS}
    )
    select locked.*, {_PROFILE_TIMEZONE} from locked
"""
_GET_STREAK = f"""
    select s.*, {_PROFILE_TIMEZONE}
    from (select $1::text as user_id) as u left join streaks as s using (user_id)
"""
_GET_DAY = f"select {_DAY_COLUMNS} from check_ins where user_id = $1 and day = $2"
_DAYS_BETWEEN = f"""
    select {_DAY_COLUMNS} from check_ins
    where user_id = $1 and day between $2 and $3 order by day
"""
_RENUMBER_FIRST = len(_DAY_TYPES) + 1
_GRANTS_FIRST = _RENUMBER_FIRST + len(_DAY_TYPES)
_STREAK_FIRST = _GRANTS_FIRST + len(_GRANT_TYPES)
_DAY_NAMES = ", ".join(name for name, _ in _DAY_TYPES)
_STREAK_SETS = ", ".join(
    f"{name} = ${n}" for n, name in enumerate(codec.STREAK_FIELDS, _STREAK_FIRST + 1)
)
# One statement: every part is a data-modifying CTE, and all of them run whatever the
# final statement reads. Renumbered days exist already; added days do not.
_SAVE_CHECK_IN = f"""
    with added as ({insert_unnest("check_ins", _DAY_TYPES, 1, key=0, touch=False)}),
    renumbered as (
        update check_ins as c
        set {", ".join(f"{name} = r.{name}" for name, _ in _DAY_TYPES[2:])}
        from unnest({params(_DAY_TYPES, _RENUMBER_FIRST)}) as r({_DAY_NAMES})
        where c.user_id = r.user_id and c.day = r.day
    ),
    grants as (
        {insert_unnest("grant_outbox", _GRANT_TYPES, _GRANTS_FIRST, key=0, touch=False)}
        on conflict (idempotency_key) do nothing
    )
    update streaks set {_STREAK_SETS}, updated_at = now() where user_id = ${_STREAK_FIRST}
"""


def _streak_args(state: StreakState) -> tuple[object, ...]:
    return (state.user_id, *(getattr(state, name) for name in codec.STREAK_FIELDS))


# What a user seen for the first time starts with; the user id goes in front.
_BLANK_STREAK_ARGS = _streak_args(StreakState(user_id=""))[1:]


def _day_args(record: DayRecord) -> tuple[object, ...]:
    return tuple(codec.day_to_row(record)[name] for name in codec.DAY_FIELDS)


def _stored(user_id: str, row: Row) -> StoredStreak:
    state = codec.streak_from_row(row) if row["current"] is not None else StreakState(user_id)
    return StoredStreak(state, row["profile_timezone"])


class PostgresCheckIns:
    """Streaks and covered days; one round trip per call."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def lock_streak(self, user_id: str) -> StoredStreak:
        row = await self._driver.fetchrow(_LOCK_STREAK, user_id, *_BLANK_STREAK_ARGS)
        assert row is not None
        return _stored(user_id, row)

    async def get_streak(self, user_id: str) -> StoredStreak:
        row = await self._driver.fetchrow(_GET_STREAK, user_id)
        assert row is not None
        return _stored(user_id, row)

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None:
        row = await self._driver.fetchrow(_GET_DAY, user_id, day)
        return codec.day_from_row(row) if row else None

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        rows = await self._driver.fetch(_DAYS_BETWEEN, user_id, first, last)
        return [codec.day_from_row(row) for row in rows]

    async def save(self, outcome: CheckInOutcome) -> None:
        # The check-in as it stands now is kept with its grants as their cause: later
        # make-ups renumber the day's streak, a grant's cause never changes.
        cause = codec.day_to_json(outcome.record)
        await self._driver.execute(
            _SAVE_CHECK_IN,
            *arrays([_day_args(r) for r in (*outcome.frozen, outcome.record)], len(_DAY_TYPES)),
            *arrays([_day_args(r) for r in outcome.renumbered], len(_DAY_TYPES)),
            *arrays([_grant_args(g, cause) for g in outcome.grants], len(_GRANT_TYPES)),
            *_streak_args(outcome.state),
        )


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

    async def add(self, grants: Sequence[Grant]) -> None:
        if len(grants) == 1:
            await self._driver.execute(_ADD_GRANT, *_grant_args(grants[0], None))
        elif grants:
            await self._driver.executemany(_ADD_GRANT, [_grant_args(g, None) for g in grants])
