"""A user's duels and assists in the privacy export, and gone after erasure."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.privacy import handlers as privacy
from service.app.rules import definitions
from service.app.social import duel_settlement, duels
from service.app.social.assists import AssistTask, assist_task
from service.bootstrap import App
from service.domain.duels import SETTLEMENT_GRACE, DuelState, DuelType
from service.domain.rules.assists import AssistRule
from service.domain.rules.definitions import Measure, TaskDefinition, TaskTier
from tests.support.clock import MovableClock
from tests.support.privacy_scan import postgres_mentions

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)


async def _duel_and_assist(app: App) -> int:
    duel_type = DuelType("pk", "PK", ("order",), Measure.COUNT, DAY, DAY)
    await duels.upsert_duel_type(duel_type, uow=app.uow(), clock=app.clock)
    created = await duels.create_duel(
        duels.CreateDuel("gone", "stays", "pk", "k1"), uow=app.uow(), clock=app.clock
    )
    await duels.respond_to_duel(created.duel.duel_id, "stays", True, uow=app.uow(), clock=app.clock)
    task = TaskDefinition("help", "Help", "order", (TaskTier(5),), assists=AssistRule())
    await definitions.upsert_definition(task, uow=app.uow(), rules=app.rules)
    for helper, user in (("gone", "stays"), ("stays", "gone")):
        cmd = AssistTask(helper, user, "help", "a1")
        await assist_task(cmd, uow=app.uow(), rules=app.rules)
    return created.duel.duel_id


async def test_the_export_holds_duel_sides_and_assists_both_ways(app: App) -> None:
    await _duel_and_assist(app)

    data = await privacy.export_user_data("gone", uow=app.uow())

    assert [row["side"] for row in data.rows("duel_sides")] == ["challenger"]
    assists = data.rows("task_assists")
    assert sorted((row["helper_id"], row["user_id"]) for row in assists) == [
        ("gone", "stays"), ("stays", "gone"),
    ]  # fmt: skip


async def test_erasure_removes_the_user_and_cancels_their_open_duel(
    app: App, engine: AsyncEngine, clock: MovableClock
) -> None:
    duel_id = await _duel_and_assist(app)

    await privacy.delete_user_data(
        privacy.DeleteUserData("gone", "request 1"), uow=app.uow(), boards=app.boards
    )
    clock.advance(days=1, seconds=SETTLEMENT_GRACE.total_seconds() + 1)
    await duel_settlement.settle_due(uow=app.uow(), now=clock.now())

    assert await postgres_mentions(engine, "gone") == []
    left = await duels.get_duel(duel_id, "stays", uow=app.uow())
    assert (left.state, left.challenger_id) == (DuelState.CANCELLED, "")
