"""Where the rules engine meets the other features: boards fed by events, streak and rank badges."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from service.app.boards import definitions as boards
from service.app.boards import periods as board_periods
from service.app.boards import reads as board_reads
from service.app.boards.mapping import BoardRef
from service.app.boards.ports import BoardKey
from service.app.check_ins import handlers as check_ins
from service.app.rules import definitions, events
from service.app.rules.views import Tracked, TrackEvent
from service.bootstrap import App
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
)
from service.domain.rules.state import BadgeState
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

DAILY = BoardDefinition(
    board_id="steps",
    title="Steps",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.FIRST_TO_REACH,
    period=PeriodKind.DAILY,
    source_event_types=("walk",),
)


async def _badge_states(app: App, user_id: str) -> dict[str, BadgeState]:
    uow = app.uow()
    async with uow:
        return await uow.rule_state.badge_states(user_id)


async def _track(app: App, user_id: str, key: str, value: int) -> Tracked:
    cmd = TrackEvent(user_id, "walk", key, value)
    return await events.track_event(cmd, uow=app.uow(), rules=app.rules)


async def test_events_feed_the_boards_that_name_their_type(app: App) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    first = await _track(app, "ana", "w1", 300)
    await _track(app, "bob", "w2", 500)
    repeat = await _track(app, "ana", "w1", 300)
    _, found = await board_reads.get_rank(BoardRef("steps"), "ana", boards=app.boards)
    assert first.effects.board_submissions == ("steps",)
    assert repeat.duplicate
    assert found is not None
    assert (found.score, found.rank) == (300, 2)


async def test_a_batch_scores_each_member_once_per_event(app: App) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    batch = [
        TrackEvent("ana", "walk", "w1", 300),
        TrackEvent("bob", "walk", "w2", 400),
        TrackEvent("ana", "walk", "w3", 200),
    ]
    await events.track_events(batch, uow=app.uow(), rules=app.rules)
    _, page = await board_reads.get_page(BoardRef("steps"), 1, 10, boards=app.boards)
    assert [(e.member_id, e.score, e.rank) for e in page.entries] == [
        ("ana", 500, 1),
        ("bob", 400, 2),
    ]


async def test_a_batch_with_a_member_scoring_thrice_aggregates_as_one_at_a_time(
    app: App, clock: MovableClock
) -> None:
    best = dataclasses.replace(
        DAILY, board_id="best-walk", aggregation=Aggregation.MAX, rookie_days=7
    )
    await boards.upsert_board(best, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    start = clock.now() - dt.timedelta(minutes=10)
    sent = [("ana", 300), ("bob", 400), ("ana", 200), ("ana", 500), ("cy", 400), ("ana", 500)]
    batch = [
        TrackEvent(user, "walk", f"b{n}", value, occurred_at=start + dt.timedelta(minutes=n))
        for n, (user, value) in enumerate(sent)
    ]

    await events.track_events(batch, uow=app.uow(), rules=app.rules)
    retried = await events.track_events(batch, uow=app.uow(), rules=app.rules)

    assert all(result.duplicate for result in retried)
    for rookie in (False, True):
        ref = BoardRef("best-walk", rookie=rookie)
        period_id, page = await board_reads.get_page(ref, 1, 10, boards=app.boards)
        # bob reached 400 before cy; ana's second 500 left her time as it was.
        assert [(e.member_id, e.score, e.rank) for e in page.entries] == [
            ("ana", 500, 1),
            ("bob", 400, 2),
            ("cy", 400, 3),
        ]
    uow = app.uow()
    async with uow:
        key = BoardKey("best-walk", "", period_id)
        rows = {row.member_id: row for row in await uow.scores.rows(key)}
    reached = start + dt.timedelta(minutes=3)
    assert rows["ana"].reached_at_ms == int(reached.timestamp() * 1000)


async def test_streak_badges_follow_check_ins(app: App, clock: MovableClock) -> None:
    badge = BadgeDefinition(
        "regular", "Regular", BadgeCriterion(CriterionKind.STREAK_LENGTH),
        (BadgeTier("two days", 2, (Reward(RewardKind.POINTS, 20),)),),
    )  # fmt: skip
    await definitions.upsert_definition(badge, uow=app.uow(), rules=app.rules)
    cmd = check_ins.CheckIn("ana", "UTC")
    await check_ins.check_in(
        cmd, uow=app.uow(), programs=app.programs, clock=clock, rules=app.rules
    )
    assert (await _badge_states(app, "ana"))["regular"].tier == 0
    clock.advance(days=1)
    await check_ins.check_in(
        cmd, uow=app.uow(), programs=app.programs, clock=clock, rules=app.rules
    )
    assert (await _badge_states(app, "ana"))["regular"].tier == 1


async def test_final_ranks_earn_rank_badges(app: App, clock: MovableClock) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    podium = BadgeDefinition(
        "podium", "Podium", BadgeCriterion(CriterionKind.BOARD_RANK, board_id="steps"),
        (BadgeTier("top 3", 3), BadgeTier("winner", 1)),
    )  # fmt: skip
    await definitions.upsert_definition(podium, uow=app.uow(), rules=app.rules)
    for n, user in enumerate(("ana", "bob", "cy", "dee")):
        await _track(app, user, f"w{n}", 100 - n)
    clock.current = dt.datetime(2026, 3, 11, 0, 0, 1, tzinfo=dt.UTC)
    ref = BoardRef("steps", period_id="d2026-03-10")
    await board_periods.finalize_period(ref, uow=app.uow(), boards=app.boards, rules=app.rules)
    tiers = {u: (await _badge_states(app, u)).get("podium") for u in ("ana", "bob", "dee")}
    assert tiers["ana"] is not None
    assert tiers["ana"].tier == 2
    assert tiers["bob"] is not None
    assert tiers["bob"].tier == 1
    assert tiers["dee"] is None
