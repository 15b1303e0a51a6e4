"""Friends' assists on real Postgres: caps, no self-assist, once per window, completions."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.social.tables import task_assists
from service.adapters.postgres.tables import grant_outbox
from service.app.rules import definitions, events, player
from service.app.rules.views import TrackEvent
from service.app.social.assists import Assisted, AssistTask, assist_task
from service.bootstrap import App
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.assists import AssistRule
from service.domain.rules.definitions import TaskDefinition, TaskTier
from service.domain.rules.windows import Cadence
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

RULE = AssistRule(progress=1, per_friend_cap=2, per_task_cap=3, window=dt.timedelta(hours=1))
HARVEST = TaskDefinition(
    "harvest", "Harvest with friends", "harvest",
    (TaskTier(3, (Reward(RewardKind.POINTS, 50),)),), cadence=Cadence.DAILY, assists=RULE,
)  # fmt: skip


async def _define(app: App, task: TaskDefinition = HARVEST) -> None:
    await definitions.upsert_definition(task, uow=app.uow(), rules=app.rules)


async def _assist(app: App, helper: str, key: str, user: str = "ann") -> Assisted:
    cmd = AssistTask(helper, user, "harvest", key)
    return await assist_task(cmd, uow=app.uow(), rules=app.rules)


async def _count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def _progress(app: App) -> tuple[int, int]:
    task = next(t for t in await player.list_tasks("ann", uow=app.uow(), rules=app.rules))
    return task.progress, task.completions


async def test_assists_add_progress_and_record_who_helped(app: App, engine: AsyncEngine) -> None:
    await _define(app)

    done = await _assist(app, "bob", "b1")

    assert (done.record.helper_id, done.record.progress_after, done.duplicate) == ("bob", 1, False)
    assert await _progress(app) == (1, 0)
    assert await _count(engine, task_assists) == 1


async def test_an_assist_that_completes_the_task_grants_once(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _define(app)
    for key in ("e1", "e2"):
        await events.track_event(TrackEvent("ann", "harvest", key), uow=app.uow(), rules=app.rules)

    done = await _assist(app, "bob", "b1")
    retry = await _assist(app, "bob", "b1")

    assert [g.reward.amount for g in done.grants] == [50]
    assert (retry.duplicate, retry.grants, retry.record.tiers_reached) == (True, (), 1)
    assert await _count(engine, grant_outbox) == 1
    assert await _progress(app) == (3, 1)
    clock.advance(minutes=61)
    with pytest.raises(FailedPrecondition, match="already completed"):
        await _assist(app, "bob", "b2")


async def test_nobody_assists_themselves(app: App, engine: AsyncEngine) -> None:
    await _define(app)
    with pytest.raises(InvalidArgument, match="helper_id"):
        await _assist(app, "ann", "a1")
    assert await _count(engine, task_assists) == 0


async def test_the_same_friend_helps_once_per_window_up_to_their_cap(
    app: App, clock: MovableClock
) -> None:
    await _define(app)
    await _assist(app, "bob", "b1")
    clock.advance(minutes=59)
    with pytest.raises(ResourceExhausted, match="again from"):
        await _assist(app, "bob", "b2")
    clock.advance(minutes=1)
    await _assist(app, "bob", "b2")
    clock.advance(hours=1)
    with pytest.raises(ResourceExhausted, match="2 times"):
        await _assist(app, "bob", "b3")
    assert await _progress(app) == (2, 0)


async def test_the_task_takes_at_most_its_cap_of_assists(app: App, engine: AsyncEngine) -> None:
    await _define(app, dataclasses.replace(HARVEST, tiers=(TaskTier(10),)))
    for friend in ("bob", "cy", "dee"):
        await _assist(app, friend, "k")
    with pytest.raises(ResourceExhausted, match="3 assists"):
        await _assist(app, "eve", "k")
    assert await _count(engine, task_assists) == 3


async def test_concurrent_assists_stay_within_the_cap(app: App, engine: AsyncEngine) -> None:
    await _define(app, dataclasses.replace(HARVEST, tiers=(TaskTier(10),)))
    tries = [_assist(app, f"f{n}", "k") for n in range(6)]

    done = await asyncio.gather(*tries, return_exceptions=True)

    assert sum(isinstance(d, Assisted) for d in done) == 3
    assert all(isinstance(d, ResourceExhausted) for d in done if not isinstance(d, Assisted))
    assert await _progress(app) == (3, 0)


async def test_a_task_without_assists_or_unknown_takes_none(app: App, engine: AsyncEngine) -> None:
    await _define(app, dataclasses.replace(HARVEST, assists=None))
    with pytest.raises(FailedPrecondition, match="no assists"):
        await _assist(app, "bob", "b1")
    with pytest.raises(NotFound, match="ghost"):
        await assist_task(AssistTask("bob", "ann", "ghost", "b1"), uow=app.uow(), rules=app.rules)
    assert await _count(engine, task_assists) == 0
