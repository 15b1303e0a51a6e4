"""The demo game `make run` loads: valid, loaded once, and playable."""

from __future__ import annotations

import pytest

from service.app import events, league_reads, player
from service.app.rule_views import TrackEvent
from service.bootstrap import App
from service.dev import load_demo

pytestmark = pytest.mark.integration


async def test_the_demo_loads_once_and_an_order_moves_its_tasks(app: App) -> None:
    await load_demo(app)
    await load_demo(app)
    order = TrackEvent("alice", "order.paid", "order-1", 2500, {"category": "books"})
    tracked = await events.track_event(order, uow=app.uow(), rules=app.rules)
    tasks = {
        view.task.task_id: view
        for view in await player.list_tasks("alice", uow=app.uow(), rules=app.rules)
    }

    assert {change.task_id for change in tracked.effects.task_changes} == {
        "daily-order",
        "book-lover",
    }
    assert (tasks["daily-order"].task.version, tasks["daily-order"].completions) == (1, 1)
    assert tasks["book-lover"].progress == 2500


async def test_the_demos_league_places_a_first_order_in_a_bronze_cohort(app: App) -> None:
    await load_demo(app)
    await load_demo(app)
    order = TrackEvent("alice", "order.paid", "order-1", 2500)
    await events.track_event(order, uow=app.uow(), rules=app.rules)

    view = await league_reads.get_league("weekly", "alice", uow=app.reader(), leagues=app.leagues)

    assert [tier.tier_id for tier in view.league.tiers] == ["bronze", "silver", "gold", "diamond"]
    assert (view.tier.tier_id, view.cohort, view.rank, view.score) == (
        "bronze",
        "bronze-1",
        1,
        2500,
    )
