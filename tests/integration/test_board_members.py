"""Board members in Postgres: the first time each member scored, written once, never raced."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards.ports import MemberInfo
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


async def _touch(engine: AsyncEngine, at: dt.datetime, member: str = "ana") -> MemberInfo:
    async with PostgresUnitOfWork(engine) as uow:
        info = (await uow.scores.touch_members("steps", {member: at}))[member]
        await uow.commit()
    return info


async def _row_version(engine: AsyncEngine) -> str:
    """The transaction that wrote ana's row last (xmin); it changes whenever the row does."""
    query = sa.text("select xmin::text from board_members where member_id = 'ana'")
    async with engine.connect() as conn:
        return str((await conn.execute(query)).scalar_one())


async def test_a_member_keeps_the_earliest_first_score_and_later_scores_write_nothing(
    engine: AsyncEngine,
) -> None:
    assert (await _touch(engine, T0)).first_seen_at == T0
    written = await _row_version(engine)

    later = await _touch(engine, T0 + dt.timedelta(hours=1))

    assert later.first_seen_at == T0
    assert await _row_version(engine) == written
    earlier = await _touch(engine, T0 - dt.timedelta(hours=1))
    assert earlier.first_seen_at == T0 - dt.timedelta(hours=1)
    assert await _row_version(engine) != written


async def test_a_first_score_that_waited_for_another_sees_the_row_committed_meanwhile(
    engine: AsyncEngine,
) -> None:
    async with PostgresUnitOfWork(engine) as first:
        await first.scores.touch_members("steps", {"new": T0})
        second = asyncio.create_task(_touch(engine, T0 + dt.timedelta(hours=1), "new"))
        await wait_until(lambda: _waiting_for_a_lock(engine), within=10, what="the second")
        await first.commit()

    assert (await second).first_seen_at == T0  # inserted after the second's snapshot


async def _waiting_for_a_lock(engine: AsyncEngine) -> bool:
    query = sa.text(
        "select count(*) from pg_stat_activity "
        "where datname = current_database() and wait_event_type = 'Lock'"
    )
    async with engine.connect() as conn:
        return bool((await conn.execute(query)).scalar_one())
