"""The demo game `make run` loads: valid, loaded once, and playable."""

from __future__ import annotations

import pytest

from service.app import events, player
from service.app.live_publish import effect_updates as _effects
from service.app.rule_views import TrackEvent
from service.bootstrap import App
from service.dev import load_demo
from service.gen.engagement.v1 import live_pb2

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
    # The order's effects are on alice's live feed, in the order TrackEvent listed them.
    feed = await app.live.reader.read("alice", "0-0", 1)
    kinds = [live_pb2.LiveUpdate.FromString(entry.body).WhichOneof("kind") for entry in feed]
    assert kinds[:2] == ["task_progress", "task_progress"]
    assert len(kinds) == len(_effects(tracked.effects))
