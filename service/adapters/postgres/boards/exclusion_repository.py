"""Postgres implementation of board exclusions: members kept off every board."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from service.adapters.postgres.driver import Driver
from service.app.boards.ports import BoardKey


# Scores of a member serialise with exclusions on this lock: a score takes it shared, an
# exclusion exclusively, so no score committed after an exclusion escapes it. (Events take
# the user's rules profile first, which an exclusion locks too.)
# `member_lock(member_id)` is the lock's key for the member id the SQL expression names.
def member_lock(member_id: str) -> str:
    return f"hashtext('board-member:' || {member_id})"


_LOCK = f"select pg_advisory_xact_lock({member_lock('$1')})"
_LOCK_PROFILE = "select 1 from rule_profiles where user_id = $1 for update"
_EXCLUDED = "select member_id from board_exclusions where member_id = any($1::text[])"
_EXCLUDE = """
    insert into board_exclusions (member_id, reason, excluded_at) values ($1, $2, $3)
    on conflict (member_id) do nothing
"""
_REINSTATE = "delete from board_exclusions where member_id = $1"
# The member's scores in every period not final yet go, and the Redis copies are queued
# for removal in case the removal after commit fails.
_REMOVE = """
    with removed as (
        delete from board_scores as s where s.member_id = $1 and not exists (
            select from board_periods as p where p.board_id = s.board_id
            and p.partition = s.partition and p.period_id = s.period_id and p.rookie = s.rookie
        )
        returning board_id, partition, period_id, rookie, member_id
    ), queued as (
        insert into board_repairs (board_id, partition, period_id, rookie, member_id)
        select * from removed on conflict do nothing
    )
    select board_id, partition, period_id, rookie from removed
"""


class PostgresExclusions:
    """Who is excluded from boards; an exclusion takes the member off every open period."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def excluded(self, member_ids: Iterable[str]) -> set[str]:
        rows = await self._driver.fetch(_EXCLUDED, sorted(set(member_ids)))
        return {row["member_id"] for row in rows}

    async def exclude(self, member_id: str, reason: str, at: dt.datetime) -> list[BoardKey]:
        """Exclude the member (again: the first reason stays) and remove their scores from
        every period not final yet; the keys they were removed from."""
        await self._driver.execute(_LOCK, member_id)
        await self._driver.execute(_LOCK_PROFILE, member_id)
        await self._driver.execute(_EXCLUDE, member_id, reason, at)
        rows = await self._driver.fetch(_REMOVE, member_id)
        return [BoardKey(r["board_id"], r["partition"], r["period_id"], r["rookie"]) for r in rows]

    async def reinstate(self, member_id: str) -> bool:
        await self._driver.execute(_LOCK, member_id)
        status = await self._driver.execute(_REINSTATE, member_id)
        return status.endswith(" 1")
