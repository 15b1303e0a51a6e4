"""Postgres implementation of the goal port: set-wise increments under one lock order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from service.adapters.postgres import documents
from service.adapters.postgres.boards.repositories import BULK_TIMEOUT_SECONDS
from service.adapters.postgres.driver import Driver, Row
from service.app.goals.ports import Member, Standing, Team
from service.domain.goals import CAUSE_KIND, Credit, GoalDefinition, GoalMilestone, GoalScope

_DEFINITION = "select config, version from goals where goal_id = $1"
_SAVE = """
    insert into goals (goal_id, version, scope, team_id, starts_at, ends_at, config)
    values ($1, $2, $3, $4, $5, $6, $7::jsonb)
    on conflict (goal_id) do update set version = excluded.version, scope = excluded.scope,
        team_id = excluded.team_id, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
        config = excluded.config, updated_at = now()
"""
_NEW_TOTAL = "insert into goal_totals values ($1, 0, 0) on conflict do nothing"
_OPEN = "select config, version from goals where ends_at > $1 order by goal_id"
_DEFINITIONS = """
    select config, version, seq from goals where ($1::bigint is null or seq < $1)
    order by seq desc limit $2
"""
# In user order, so that two transactions crediting one goal lock its rows in one order.
_CREDIT = """
    insert into goal_contributions as c (goal_id, user_id, amount, first_at, updated_at)
    select $1, d.user_id, d.amount, $4, $4
    from unnest($2::text[], $3::bigint[]) as d(user_id, amount) order by d.user_id
    on conflict (goal_id, user_id) do update
    set amount = c.amount + excluded.amount, updated_at = excluded.updated_at
    returning user_id, amount
"""
_ADD = """
    update goal_totals set total = total + $2, contributors = contributors + $3
    where goal_id = $1 returning total
"""
# Every qualifying contributor's grants in one statement (a milestone of a large community
# goal may pay many thousands of users), answering with up to $10 of the users paid now.
_GRANT_QUALIFIED = f"""
    with paid as (insert into grant_outbox (idempotency_key, user_id, kind, amount, item_code,
        reason, cause_kind, cause_ref, definition_version)
    select $2 || ':' || c.user_id || ':' || (r.n - 1), c.user_id, r.kind, r.amount,
        r.item_code, $3, '{CAUSE_KIND}', $2, $4
    from goal_contributions as c
    cross join unnest($5::text[], $6::bigint[], $7::text[])
        with ordinality as r(kind, amount, item_code, n)
    where c.goal_id = $1 and c.amount >= $8 and ($9 = '' or exists (
        select from team_members as m where m.team_id = $9 and m.user_id = c.user_id))
    order by c.user_id, r.n
    on conflict (idempotency_key) do nothing
    returning user_id)
    select p.user_id, c.amount from (select distinct user_id from paid) as p
    join goal_contributions as c on c.goal_id = $1 and c.user_id = p.user_id
    order by p.user_id limit $10
"""
_MEMBERSHIPS = """
    select team_id, user_id from team_members
    where team_id = any($1::text[]) and user_id = any($2::text[])
"""
_CREATE_TEAM = """
    insert into teams (team_id, name, created_at) values ($1, $2, $3)
    on conflict (team_id) do nothing returning team_id
"""
_TEAM = """
    select t.team_id, t.name, t.created_at,
        (select count(*) from team_members as m where m.team_id = t.team_id) as members
    from teams as t where t.team_id = $1
"""
_ADD_MEMBERS = """
    insert into team_members (team_id, user_id, joined_at)
    select $1, u, $3 from unnest($2::text[]) as u order by u on conflict do nothing
"""
_REMOVE_MEMBERS = "delete from team_members where team_id = $1 and user_id = any($2::text[])"
_MEMBERS = """
    select id, user_id, joined_at from team_members
    where team_id = $1 and ($2::bigint is null or id < $2) order by id desc limit $3
"""
_STANDING_COLUMNS = """
    g.config, g.version, g.seq, t.total, t.contributors,
    coalesce((select c.amount from goal_contributions as c
        where c.goal_id = g.goal_id and c.user_id = $1), 0) as mine
"""
_STANDING = f"""
    select {_STANDING_COLUMNS}, (g.scope = 'community' or exists (select from team_members as m
        where m.team_id = g.team_id and m.user_id = $1)) as member
    from goals as g join goal_totals as t using (goal_id) where g.goal_id = $2
"""
_STANDINGS = f"""
    select {_STANDING_COLUMNS}, true as member
    from goals as g join goal_totals as t using (goal_id)
    where (g.scope = 'community'
        or g.team_id in (select m.team_id from team_members as m where m.user_id = $1))
    and ($2::timestamptz is null or g.ends_at > $2) and ($3::bigint is null or g.seq < $3)
    order by g.seq desc limit $4
"""


def goal_to_json(goal: GoalDefinition) -> str:
    return documents.to_json(goal, ("version",))


def goal_from_row(row: Row) -> GoalDefinition:
    goal: GoalDefinition = documents.from_document(
        GoalDefinition, row["config"], version=row["version"]
    )
    return goal


def _standing(row: Row) -> Standing:
    return Standing(
        goal_from_row(row), row["seq"], row["total"], row["contributors"], row["mine"],
        row["member"],
    )  # fmt: skip


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class PostgresGoals:
    """Goals on the unit of work's connection; prepared statements, one round trip each."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def lock_definition(self, goal_id: str) -> GoalDefinition | None:
        row = await self._driver.fetchrow(_DEFINITION + " for update", goal_id)
        return goal_from_row(row) if row else None

    async def save_definition(self, goal: GoalDefinition) -> None:
        await self._driver.execute(
            _SAVE, goal.goal_id, goal.version, str(goal.scope), goal.team_id, goal.starts_at,
            goal.ends_at, goal_to_json(goal),
        )  # fmt: skip
        await self._driver.execute(_NEW_TOTAL, goal.goal_id)

    async def open_definitions(self, ends_after: dt.datetime) -> list[GoalDefinition]:
        return [goal_from_row(row) for row in await self._driver.fetch(_OPEN, ends_after)]

    async def get_definition(self, goal_id: str) -> GoalDefinition | None:
        row = await self._driver.fetchrow(_DEFINITION, goal_id)
        return goal_from_row(row) if row else None

    async def definitions(
        self, before_seq: int | None, limit: int
    ) -> list[tuple[int, GoalDefinition]]:
        rows = await self._driver.fetch(_DEFINITIONS, before_seq, limit)
        return [(row["seq"], goal_from_row(row)) for row in rows]

    async def credit(
        self, goal_id: str, amounts: Mapping[str, int], at: dt.datetime
    ) -> list[Credit]:
        users = sorted(amounts)
        rows = await self._driver.fetch(_CREDIT, goal_id, users, [amounts[u] for u in users], at)
        return [
            Credit(r["user_id"], r["amount"] - amounts[r["user_id"]], r["amount"]) for r in rows
        ]

    async def add_to_total(self, goal_id: str, amount: int, contributors: int) -> tuple[int, int]:
        row = await self._driver.fetchrow(_ADD, goal_id, amount, contributors)
        assert row is not None, f"goal {goal_id} has no total row"
        return row["total"] - amount, row["total"]

    async def grant_qualified(
        self, goal: GoalDefinition, milestone: GoalMilestone, report: int
    ) -> list[tuple[str, int]]:
        rewards = milestone.rewards
        team = goal.team_id if goal.scope is GoalScope.TEAM else ""
        rows = await self._driver.fetch(
            _GRANT_QUALIFIED, goal.goal_id, goal.cause_ref(milestone), goal.reason(milestone),
            goal.version, [str(r.kind) for r in rewards], [r.amount for r in rewards],
            [r.item_code for r in rewards], goal.min_contribution, team, report,
            # A milestone of a goal with a million contributors must not fail its event for
            # the per-request statement timeout (and again on every retry).
            timeout=BULK_TIMEOUT_SECONDS,
        )  # fmt: skip
        return [(r["user_id"], r["amount"]) for r in rows]

    async def memberships(
        self, team_ids: Iterable[str], user_ids: Iterable[str]
    ) -> set[tuple[str, str]]:
        rows = await self._driver.fetch(_MEMBERSHIPS, sorted(set(team_ids)), sorted(set(user_ids)))
        return {(r["team_id"], r["user_id"]) for r in rows}

    async def create_team(self, team: Team) -> tuple[Team, bool]:
        created = await self._driver.fetchrow(
            _CREATE_TEAM, team.team_id, team.name, team.created_at
        )
        stored = await self.get_team(team.team_id, lock=True)
        assert stored is not None
        return stored, created is not None

    async def get_team(self, team_id: str, *, lock: bool = False) -> Team | None:
        row = await self._driver.fetchrow(_TEAM + (" for update of t" if lock else ""), team_id)
        if row is None:
            return None
        return Team(row["team_id"], row["name"], row["created_at"], row["members"])

    async def add_members(self, team_id: str, user_ids: Sequence[str], at: dt.datetime) -> int:
        return _count(await self._driver.execute(_ADD_MEMBERS, team_id, sorted(user_ids), at))

    async def remove_members(self, team_id: str, user_ids: Sequence[str]) -> int:
        return _count(await self._driver.execute(_REMOVE_MEMBERS, team_id, list(user_ids)))

    async def members(self, team_id: str, before_id: int | None, limit: int) -> list[Member]:
        rows = await self._driver.fetch(_MEMBERS, team_id, before_id, limit)
        return [Member(r["id"], r["user_id"], r["joined_at"]) for r in rows]

    async def standing(self, goal_id: str, user_id: str) -> Standing | None:
        row = await self._driver.fetchrow(_STANDING, user_id, goal_id)
        return _standing(row) if row else None

    async def standings(
        self, user_id: str, ends_after: dt.datetime | None, before_seq: int | None, limit: int
    ) -> list[Standing]:
        rows = await self._driver.fetch(_STANDINGS, user_id, ends_after, before_seq, limit)
        return [_standing(row) for row in rows]
