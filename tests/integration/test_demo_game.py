"""The demo game `make run` loads: valid, loaded once, and playable."""

from __future__ import annotations

import pytest

from service.app import duels, events, player
from service.app.assists import AssistTask, assist_task
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


async def test_the_demo_has_a_duel_type_and_a_task_friends_can_help_with(app: App) -> None:
    await load_demo(app)
    await load_demo(app)
    challenge = duels.CreateDuel("alice", "bob", "order-pk", "pk-1")
    created = await duels.create_duel(challenge, uow=app.uow(), clock=app.clock)
    helped = await assist_task(
        AssistTask("bob", "alice", "play-together", "help-1"), uow=app.uow(), rules=app.rules
    )

    assert [t.version for t in await duels.list_duel_types(uow=app.uow())] == [1]
    assert created.duel.terms.title.startswith("Order duel")
    assert (helped.record.progress_after, helped.record.target) == (1, 5)
