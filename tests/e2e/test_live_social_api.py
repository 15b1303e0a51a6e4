"""Duels, league seasons and goals on the live feed: each player hears their changes as they
happen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import pytest

from service.app.social import duel_settlement
from service.bootstrap import App
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import goals_pb2 as goals_pb
from service.gen.engagement.v1 import goals_pb2_grpc as goals_grpc
from service.gen.engagement.v1 import leagues_pb2 as leagues_pb
from service.gen.engagement.v1 import leagues_pb2_grpc as leagues_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import social_pb2 as social_pb
from service.gen.engagement.v1 import social_pb2_grpc as social_grpc
from tests.e2e.test_league_api import MONDAY, _define, _lesson
from tests.e2e.test_live_api import _opened, _take, _watch, settings  # noqa: F401 - the fixture
from tests.support.clock import MovableClock
from tests.support.goals import goal

pytestmark = pytest.mark.e2e

SIP = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=5)
QUIZ = social_pb.DuelType(
    type_id="quiz", title="Quiz duel", event_types=["quiz.answered"], measure=defs.MEASURE_COUNT,
    window_seconds=3600, respond_within_seconds=600, participation_rewards=[SIP],
)  # fmt: skip


async def test_both_players_hear_a_duel_created_accepted_and_settled(
    channel: grpc.aio.Channel, app: App, clock: MovableClock
) -> None:
    await social_grpc.DuelAdminServiceStub(channel).UpsertDuelType(
        social_pb.UpsertDuelTypeRequest(duel_type=QUIZ)
    )
    ana, bob = _watch(channel, "ana"), _watch(channel, "bob")
    await _opened(ana)
    await _opened(bob)
    duels = social_grpc.DuelServiceStub(channel)

    created = await duels.CreateDuel(
        social_pb.CreateDuelRequest(
            challenger_id="ana", opponent_id="bob", type_id="quiz", idempotency_key="d1"
        )
    )
    duel_id = created.duel.duel_id
    heard = [(await _take(watcher, 1))[0].duel_changed for watcher in (ana, bob)]
    assert [(d.duel_id, d.state) for d in heard] == [(duel_id, social_pb.DUEL_STATE_PENDING)] * 2

    await duels.RespondToDuel(
        social_pb.RespondToDuelRequest(duel_id=duel_id, user_id="bob", accept=True)
    )
    heard = [(await _take(watcher, 1))[0].duel_changed for watcher in (ana, bob)]
    assert [d.state for d in heard] == [social_pb.DUEL_STATE_ACTIVE] * 2

    clock.advance(hours=2)
    assert await duel_settlement.settle_due(uow=app.uow(), now=clock.now(), feed=app.boards.feed)
    for watcher, user in ((ana, "ana"), (bob, "bob")):
        settled, grant = await _take(watcher, 2)
        assert (settled.duel_changed.duel_id, settled.duel_changed.state) == (
            duel_id, social_pb.DUEL_STATE_SETTLED,
        )  # fmt: skip
        assert (grant.grant_decided.user_id, grant.grant_decided.reward.amount) == (user, 5)
    ana.cancel()
    bob.cancel()


async def test_a_member_hears_their_season_result_and_its_rewards(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = MONDAY + dt.timedelta(hours=9)
    await _define(channel)
    for user, value in (("ana", 30), ("bob", 20)):
        await _lesson(channel, user, value, f"{user}-1")
    ana = _watch(channel, "ana")
    await _opened(ana)

    clock.current = MONDAY + dt.timedelta(days=7)
    await leagues_grpc.LeagueAdminServiceStub(channel).EndLeagueSeason(
        leagues_pb.EndLeagueSeasonRequest(league_id="weekly")
    )

    ended, grant = await _take(ana, 2)
    season = ended.league_season_ended
    assert (season.league_id, season.season.tier_id, season.season.next_tier_id) == (
        "weekly", "bronze", "silver",
    )  # fmt: skip
    assert (season.season.rank, season.season.outcome) == (1, leagues_pb.SEASON_OUTCOME_PROMOTED)
    assert (grant.grant_decided.user_id, grant.grant_decided.reward.amount) == ("ana", 100)
    ana.cancel()


def _goal_change(update: Any) -> tuple[str, int, int, bool, list[int]]:
    change = update.goal_changed
    return (
        change.goal_id, change.total, change.contribution, change.qualifies,
        list(change.reached_targets),
    )  # fmt: skip


async def test_contributors_hear_their_goal_move_and_every_qualified_one_its_milestone(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now = clock.now()
    await goals_grpc.GoalAdminServiceStub(channel).UpsertGoal(
        goals_pb.UpsertGoalRequest(goal=goal("rush", now, now + dt.timedelta(hours=1), [4]))
    )
    ana, bob = _watch(channel, "ana"), _watch(channel, "bob")
    await _opened(ana)
    await _opened(bob)
    sender = events_grpc.EventServiceStub(channel)

    async def order(user: str, key: str) -> None:
        await sender.TrackEvent(
            events_pb.TrackEventRequest(
                user_id=user, type="order.paid", value=1, idempotency_key=key
            )
        )

    await order("ana", "a1")
    await order("bob", "b1")
    await order("bob", "b2")
    assert _goal_change((await _take(ana, 1))[0]) == ("rush", 1, 1, True, [])
    assert [_goal_change(u) for u in await _take(bob, 2)] == [
        ("rush", 2, 1, True, []), ("rush", 3, 2, True, []),
    ]  # fmt: skip

    await order("bob", "b3")  # reaches 4: bob's own change, and ana is paid too
    for watcher, user, mine in ((bob, "bob", 3), (ana, "ana", 1)):
        change, grant = await _take(watcher, 2)
        assert _goal_change(change) == ("rush", 4, mine, True, [4])
        assert (grant.grant_decided.user_id, grant.grant_decided.cause_ref) == (
            user, "goal:rush:milestone:4",
        )  # fmt: skip
    await order("bob", "b3")  # a duplicate: nothing moves, nothing is heard
    await order("ana", "a2")
    assert _goal_change((await _take(ana, 1))[0]) == ("rush", 5, 2, True, [])
    ana.cancel()
    bob.cancel()


async def test_a_check_in_is_heard_with_the_goal_it_counts_for(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now = clock.now()
    await goals_grpc.GoalAdminServiceStub(channel).UpsertGoal(
        goals_pb.UpsertGoalRequest(
            goal=goal(
                "streaks", now, now + dt.timedelta(days=7), [10], minimum=2,
                metric=goals_pb.GOAL_METRIC_CHECK_IN,
            )
        )
    )  # fmt: skip
    cleo = _watch(channel, "cleo")
    await _opened(cleo)
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="cleo", timezone="UTC")
    )
    checked_in, change = await _take(cleo, 2)
    assert checked_in.WhichOneof("kind") == "checked_in"
    assert _goal_change(change) == ("streaks", 1, 1, False, [])
    cleo.cancel()
