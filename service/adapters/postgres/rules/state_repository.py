"""Postgres implementation of the rules engine's user-state port."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from service.adapters.postgres.driver import Driver, Row
from service.adapters.postgres.rules import codec as rule_codec
from service.adapters.postgres.unnest import arrays, insert_unnest
from service.app.rules.ports import TaskList
from service.domain.rules.state import (
    BadgeState,
    Counter,
    Profile,
    Shared,
    TaskCompletion,
    TaskState,
    UserState,
)

# Prebuilt SQL run on the driver, which prepares each text once per connection.
_PROFILE_COLUMNS = "user_id, timezone, segments, xp, level"
# The upsert takes the rows' locks, in user order, and returns them in one round trip, also
# for new users. An empty timezone keeps the stored one; stored empty, none was ever set.
_LOCK_PROFILES = f"""
    with wanted as (
        select user_id, nullif(timezone, '') as timezone
        from unnest($1::text[], $2::text[]) as u(user_id, timezone)
    )
    insert into rule_profiles as p ({_PROFILE_COLUMNS})
    select user_id, coalesce(timezone, $3::text), $4::text[], $5::bigint, $6::int
    from wanted order by user_id
    on conflict (user_id) do update set timezone = coalesce(
        (select w.timezone from wanted as w where w.user_id = excluded.user_id), p.timezone
    )
    returning {_PROFILE_COLUMNS}
"""
_GET_PROFILE = f"select {_PROFILE_COLUMNS} from rule_profiles where user_id = $1"
_TASK_LIST = f"""
    select {_PROFILE_COLUMNS.replace("user_id", "u.user_id")},
        array(select row(task_id, version, window_id, progress, tiers_reached, completions,
                         distinct_values::text)
              from task_states as t where t.user_id = u.user_id) as tasks,
        array(select row(task_id, count(*)) from task_completions as c
              where c.user_id = u.user_id and claimed_at is null group by task_id) as unclaimed
    from (select $1::text as user_id) as u left join rule_profiles as p using (user_id)
"""
_SAVE_PROFILE = f"""
    insert into rule_profiles as p ({_PROFILE_COLUMNS}) values ($1, $2, $3, $4, $5)
    on conflict (user_id) do update set timezone = excluded.timezone,
        segments = excluded.segments, xp = excluded.xp, level = excluded.level,
        updated_at = now()
"""
_BLANK = Profile(user_id="")
_SAVE_PROGRESS = """
    update rule_profiles as p
    set timezone = u.timezone, xp = u.xp, level = u.level, updated_at = now()
    from unnest($1::text[], $2::text[], $3::bigint[], $4::int[]) as u(user_id, timezone, xp, level)
    where p.user_id = u.user_id
"""

# Everything the rules engine reads about some users, in one round trip: each part is an
# array of anonymous records, which asyncpg decodes into tuples of typed values.
_LOAD = """
    select
        u.user_id,
        array(select row(task_id, version, window_id, progress, tiers_reached, completions,
                         distinct_values::text)
              from task_states as t where t.user_id = u.user_id) as tasks,
        array(select row(badge_id, version, progress, tier, earned_at, distinct_values::text)
              from badge_states as b where b.user_id = u.user_id) as badges,
        array(select row(key, window_id, amount)
              from rule_counters as c where c.user_id = u.user_id) as counters,
        array(select row(type, count(*)) from rule_events as e
              where e.user_id = u.user_id and type = any($2::text[]) and received_at >= $3
              group by type) as recent
    from unnest($1::text[]) as u(user_id)
"""

_TASK_COLUMNS = (
    ("user_id", "text"), ("task_id", "text"), ("version", "bigint"), ("window_id", "text"),
    ("progress", "bigint"), ("tiers_reached", "int"), ("completions", "int"),
    ("distinct_values", "jsonb"),
)  # fmt: skip
_BADGE_COLUMNS = (
    ("user_id", "text"), ("badge_id", "text"), ("version", "bigint"), ("progress", "bigint"),
    ("tier", "int"), ("earned_at", "timestamptz"), ("distinct_values", "jsonb"),
)  # fmt: skip
_COUNTER_COLUMNS = (("user_id", "text"), ("key", "text"), ("window_id", "text"),
                    ("amount", "bigint"))  # fmt: skip
_COMPLETION_COLUMNS = (
    ("user_id", "text"), ("task_id", "text"), ("run", "int"), ("tier", "int"),
    ("version", "bigint"), ("window_id", "text"), ("rewards", "jsonb"),
    ("completed_at", "timestamptz"), ("event_key", "text"), ("claimed_at", "timestamptz"),
)  # fmt: skip


_SAVE_PARTS = (
    ("tasks", "task_states", _TASK_COLUMNS, 2, True),
    ("badges", "badge_states", _BADGE_COLUMNS, 2, True),
    ("counters", "rule_counters", _COUNTER_COLUMNS, 2, False),
    ("completions", "task_completions", _COMPLETION_COLUMNS, 0, False),
)


def _save_statement() -> str:
    # One statement, so one round trip: every part is a data-modifying CTE, which runs
    # to completion whether or not the main query reads it.
    parts, first = [], 1
    for name, table, columns, key, touch in _SAVE_PARTS:
        parts.append(f"{name} as ({insert_unnest(table, columns, first, key=key, touch=touch)})")
        first += len(columns)
    return f"with {', '.join(parts)} select 1"


_SAVE = _save_statement()
_SAVE_WIDTHS = tuple(len(columns) for _, _, columns, _, _ in _SAVE_PARTS)


def _task_row(s: TaskState) -> tuple[object, ...]:
    return (s.user_id, s.task_id, s.version, s.window_id, s.progress, s.tiers_reached,
            s.completions, json.dumps(s.distinct))  # fmt: skip


def _badge_row(s: BadgeState) -> tuple[object, ...]:
    return (s.user_id, s.badge_id, s.version, s.progress, s.tier, s.earned_at,
            json.dumps(s.distinct))  # fmt: skip


def _values(document: str) -> tuple[str, ...]:
    return tuple(json.loads(document))


def _task_state(user_id: str, record: Any) -> TaskState:
    task_id, version, window_id, progress, tiers, completions, values = record
    return TaskState(
        user_id, task_id, version, window_id, progress, tiers, completions, _values(values)
    )


def _badge_state(user_id: str, record: Any) -> BadgeState:
    badge_id, version, progress, tier, earned_at, values = record
    return BadgeState(user_id, badge_id, version, progress, tier, earned_at, _values(values))


def _completion_row(c: TaskCompletion) -> tuple[object, ...]:
    return (
        c.user_id, c.task_id, c.run, c.tier, c.version, c.window_id,
        rule_codec.rewards_to_json(c.rewards), c.completed_at, c.event_key, c.claimed_at,
    )  # fmt: skip


def _completion(row: Row) -> TaskCompletion:
    return TaskCompletion(
        user_id=row["user_id"], task_id=row["task_id"], version=row["version"],
        run=row["run"], tier=row["tier"], window_id=row["window_id"],
        rewards=rule_codec.rewards_from_json(row["rewards"]), completed_at=row["completed_at"],
        event_key=row["event_key"], claimed_at=row["claimed_at"],
    )  # fmt: skip


def _profile(row: Row) -> Profile:
    # An empty timezone column: no call ever set one, so the UTC default applies.
    timezone = row["timezone"]
    return Profile(
        row["user_id"], timezone or _BLANK.timezone, tuple(row["segments"]), row["xp"],
        row["level"], timezone_set=bool(timezone),
    )  # fmt: skip


def _left(limits: Mapping[str, int], used: Mapping[str, int]) -> dict[str, int]:
    return {key: max(0, limit - used.get(key, 0)) for key, limit in limits.items()}


# Locks the rows of both tables in one fixed order (supply, then budgets, each by id) so
# that two transactions never wait on each other; a missing row is created at 0, and an
# existing one is locked by the no-op update and returned as last committed.
_LOCK_SHARED = """
    with supply as (
        insert into badge_supply as s (badge_id, awarded)
        select id, 0 from unnest($1::text[]) as u(id) order by id
        on conflict (badge_id) do update set awarded = s.awarded
        returning badge_id as id, awarded as used
    ), budgets as (
        insert into cap_budgets as b (cap_id, spent)
        select id, 0 from unnest($2::text[]) as u(id) order by id
        on conflict (cap_id) do update set spent = b.spent
        returning cap_id as id, spent as used
    )
    select true as supply, id, used from supply
    union all
    select false, id, used from budgets
"""
_CONSUME_SHARED = """
    with supply as (
        insert into badge_supply as s (badge_id, awarded)
        select id, count(*) from unnest($1::text[]) as u(id) group by id order by id
        on conflict (badge_id) do update set awarded = s.awarded + excluded.awarded
    )
    insert into cap_budgets as b (cap_id, spent)
    select id, amount from unnest($2::text[], $3::bigint[]) as u(id, amount) order by id
    on conflict (cap_id) do update set spent = b.spent + excluded.spent
"""
_COMPLETION_SELECT = f"select {', '.join(n for n, _ in _COMPLETION_COLUMNS)} from task_completions"
_COMPLETION_ORDER = "order by completed_at, run, tier"
_COMPLETIONS = f"{_COMPLETION_SELECT} where user_id = $1 and task_id = $2 {_COMPLETION_ORDER}"
_LOCK_UNCLAIMED = f"""
    {_COMPLETION_SELECT} where user_id = $1 and task_id = $2 and claimed_at is null
    {_COMPLETION_ORDER} for update
"""
# A completion claimed before keeps the instant of its first claim.
_MARK_CLAIMED = """
    update task_completions as c set claimed_at = $1
    from unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[])
        as u(user_id, task_id, window_id, run, tier)
    where c.user_id = u.user_id and c.task_id = u.task_id and c.window_id = u.window_id
      and c.run = u.run and c.tier = u.tier and c.claimed_at is null
"""
_UNCLAIMED_COUNTS = """
    select task_id, count(*) as waiting from task_completions
    where user_id = $1 and claimed_at is null group by task_id
"""
_PROFILES = f"select {_PROFILE_COLUMNS} from rule_profiles where user_id = any($1::text[])"
_BADGE_HOLDERS = "select badge_id, count(*) as holders from badge_states where tier > 0 group by 1"
_USER_COUNT = "select count(*) as users from rule_profiles"
_BADGE_STATES = """
    select user_id, badge_id, version, progress, tier, earned_at,
           distinct_values::text as distinct_values
    from badge_states where user_id = $1
"""


class PostgresRuleState:
    """Profiles, progress, counters and shared limits; one round trip per call."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def lock_profile(self, user_id: str, timezone: str) -> Profile:
        return (await self.lock_profiles({user_id: timezone}))[user_id]

    async def lock_profiles(self, timezones: Mapping[str, str]) -> dict[str, Profile]:
        rows = await self._driver.fetch(
            _LOCK_PROFILES, list(timezones), list(timezones.values()), _BLANK.stored_timezone,
            list(_BLANK.segments), _BLANK.xp, _BLANK.level,
        )  # fmt: skip
        return {row["user_id"]: _profile(row) for row in rows}

    async def get_profile(self, user_id: str) -> Profile | None:
        row = await self._driver.fetchrow(_GET_PROFILE, user_id)
        return _profile(row) if row else None

    async def task_list(self, user_id: str) -> TaskList:
        row = await self._driver.fetchrow(_TASK_LIST, user_id)
        assert row is not None
        return TaskList(
            _profile(row) if row["level"] is not None else Profile(user_id),
            {r[0]: _task_state(user_id, r) for r in row["tasks"]},
            dict(row["unclaimed"]),
        )

    async def save_profile(self, profile: Profile) -> None:
        p = profile
        await self._driver.execute(
            _SAVE_PROFILE, p.user_id, p.stored_timezone, list(p.segments), p.xp, p.level
        )

    async def save_progress(self, profiles: Sequence[Profile]) -> None:
        if profiles:
            rows = [(p.user_id, p.stored_timezone, p.xp, p.level) for p in profiles]
            await self._driver.execute(_SAVE_PROGRESS, *arrays(rows, 4))

    async def load(
        self, profile: Profile, velocity_types: Sequence[str], since: dt.datetime
    ) -> UserState:
        return (await self.load_many([profile], velocity_types, since))[profile.user_id]

    async def load_many(
        self, profiles: Sequence[Profile], velocity_types: Sequence[str], since: dt.datetime
    ) -> dict[str, UserState]:
        by_id = {p.user_id: p for p in profiles}
        rows = await self._driver.fetch(_LOAD, list(by_id), list(velocity_types), since)
        states = {}
        for row in rows:
            user_id, recent = row["user_id"], dict(row["recent"])
            states[user_id] = UserState(
                profile=by_id[user_id],
                tasks={r[0]: _task_state(user_id, r) for r in row["tasks"]},
                badges={r[0]: _badge_state(user_id, r) for r in row["badges"]},
                counters={r[0]: Counter(*r) for r in row["counters"]},
                recent_events={t: recent.get(t, 0) for t in velocity_types},
            )
        return states

    async def save(
        self, states: Sequence[UserState], completions: Sequence[TaskCompletion]
    ) -> None:
        parts: tuple[list[tuple[object, ...]], ...] = (
            [_task_row(t) for s in states for t in s.tasks.values()],
            [_badge_row(b) for s in states for b in s.badges.values()],
            [
                (s.profile.user_id, c.key, c.window_id, c.amount)
                for s in states
                for c in s.counters.values()
            ],
            [_completion_row(c) for c in completions],
        )
        if not any(parts):
            return
        args = [
            array
            for rows, width in zip(parts, _SAVE_WIDTHS, strict=True)
            for array in arrays(rows, width)
        ]
        await self._driver.execute(_SAVE, *args)

    async def lock_shared(self, supply: Mapping[str, int], budgets: Mapping[str, int]) -> Shared:
        if not supply and not budgets:
            return Shared()
        rows = await self._driver.fetch(_LOCK_SHARED, list(supply), list(budgets))
        awarded = {r["id"]: r["used"] for r in rows if r["supply"]}
        spent = {r["id"]: r["used"] for r in rows if not r["supply"]}
        return Shared(supply_left=_left(supply, awarded), budget_left=_left(budgets, spent))

    async def consume_shared(self, supply: Sequence[str], budgets: Mapping[str, int]) -> None:
        if supply or budgets:
            await self._driver.execute(
                _CONSUME_SHARED, list(supply), list(budgets), list(budgets.values())
            )

    async def completions(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        return [_completion(r) for r in await self._driver.fetch(_COMPLETIONS, user_id, task_id)]

    async def lock_unclaimed(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        rows = await self._driver.fetch(_LOCK_UNCLAIMED, user_id, task_id)
        return [_completion(r) for r in rows]

    async def mark_claimed(self, completions: Sequence[TaskCompletion], at: dt.datetime) -> None:
        if completions:
            keys = arrays(
                [(c.user_id, c.task_id, c.window_id, c.run, c.tier) for c in completions], 5
            )
            await self._driver.execute(_MARK_CLAIMED, at, *keys)

    async def unclaimed_counts(self, user_id: str) -> dict[str, int]:
        rows = await self._driver.fetch(_UNCLAIMED_COUNTS, user_id)
        return {r["task_id"]: r["waiting"] for r in rows}

    async def profiles(self, user_ids: Sequence[str]) -> dict[str, Profile]:
        rows = await self._driver.fetch(_PROFILES, list(user_ids))
        return {r["user_id"]: _profile(r) for r in rows}

    async def badge_holders(self) -> dict[str, int]:
        return {r["badge_id"]: r["holders"] for r in await self._driver.fetch(_BADGE_HOLDERS)}

    async def user_count(self) -> int:
        row = await self._driver.fetchrow(_USER_COUNT)
        assert row is not None
        return int(row["users"])

    async def badge_states(self, user_id: str) -> dict[str, BadgeState]:
        rows = await self._driver.fetch(_BADGE_STATES, user_id)
        return {
            r["badge_id"]: BadgeState(
                **{k: v for k, v in r.items() if k != "distinct_values"},
                distinct=_values(r["distinct_values"]),
            )
            for r in rows
        }
