"""The demo game `make run` loads: valid, loaded once, and playable."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app.check_ins import handlers as check_ins
from service.app.check_ins.handlers import CheckIn
from service.app.goals import reads as goal_reads
from service.app.leagues import reads as league_reads
from service.app.live.publish import effect_updates as _effects
from service.app.rules import events, player
from service.app.rules.views import TrackEvent
from service.app.social import duels
from service.app.social.assists import AssistTask, assist_task
from service.app.wallet import handlers as wallet
from service.bootstrap import App
from service.dev import load_demo
from service.domain.rewards import RewardKind
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


async def test_the_demo_fills_the_wallet_with_points_xp_and_an_expiring_coupon(app: App) -> None:
    await load_demo(app)
    order = TrackEvent("alice", "order.paid", "order-1", 10000, {"category": "books"})
    await events.track_event(order, uow=app.uow(), rules=app.rules)

    balances = await wallet.get_balance("alice", wallets=app.wallets())
    inventory = await wallet.list_inventory(
        wallet.InventoryQuery("alice"), wallets=app.wallets(), tokens=app.page_tokens,
        clock=app.clock,
    )  # fmt: skip

    assert [(b.kind, b.item_code, b.pending) for b in balances] == [
        (RewardKind.POINTS, "", 20),
        (RewardKind.XP, "", 50),
        (RewardKind.COUPON, "books-10-off", 1),
    ]
    (coupon,) = inventory.entries
    assert coupon.expires_at == app.clock.now() + dt.timedelta(days=30)


async def test_the_demo_counts_check_ins_towards_this_months_community_goal(app: App) -> None:
    await load_demo(app)
    await load_demo(app)
    for user in ("alice", "bob"):
        await check_ins.check_in(
            CheckIn(user, "UTC"), uow=app.uow(), programs=app.programs, clock=app.clock,
            rules=app.rules,
        )  # fmt: skip
    month = f"check-ins-{app.clock.now():%Y-%m}"
    progress = await goal_reads.get_goal(month, "alice", uow=app.reader(), clock=app.clock)

    assert (progress.standing.total, progress.standing.mine) == (2, 1)
    assert (progress.standing.goal.version, progress.next and progress.next.target) == (1, 250)
    assert progress.state is goal_reads.GoalState.ACTIVE


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
