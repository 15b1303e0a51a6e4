"""Limits through the server: stacked boosts and huge values cannot blow up an amount."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import build_app
from service.entrypoints.grpc_api.server import start_server
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.settings import Settings
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.REWARD_KIND_POINTS
BILLION = 10**9


async def _define(channel: grpc.aio.Channel, *definitions: defs.Definition) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    for definition in definitions:
        await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=definition))


def _order(key: str, value: int = 1) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id="ana", type="order.paid", value=value, idempotency_key=key
    )


async def _five_boosts(channel: grpc.aio.Channel) -> None:
    task = defs.TaskDefinition(
        task_id="big-order", title="Big order", event_type="order.paid", repeatable=True,
        tiers=[defs.TaskTier(target=1, rewards=[rewards_pb2.Reward(kind=POINTS, amount=BILLION)])],
    )  # fmt: skip
    boosts = [
        defs.BoostDefinition(
            boost_id=f"x100-{n}",
            title=f"x100 #{n}",
            multiplier_percent=10_000,
            stack_group=f"group-{n}",
        )
        for n in range(5)
    ]
    await _define(channel, defs.Definition(task=task), *(defs.Definition(boost=b) for b in boosts))


async def test_five_stacked_boosts_pay_the_maximum_grant(channel: grpc.aio.Channel) -> None:
    await _five_boosts(channel)
    sender = events_grpc.EventServiceStub(channel)

    first = await sender.TrackEvent(_order("o1"))
    again = await sender.TrackEvent(_order("o1"))
    second = await sender.TrackEvent(_order("o2"))

    for response in (first, again, second):
        assert [g.reward.amount for g in response.effects.grants] == [BILLION]
    assert again.effects.duplicate


async def test_a_value_beyond_the_maximum_is_rejected_and_flagged(
    channel: grpc.aio.Channel,
) -> None:
    board = board_pb.Board(
        board_id="spend", title="Spend", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_DENSE,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
        source_event_types=["order.paid"],
    )  # fmt: skip
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=board)
    )
    badge = defs.BadgeDefinition(
        badge_id="spender", title="Spender",
        criterion=defs.BadgeCriterion(
            kind=defs.CRITERION_KIND_EVENT_SUM, event_type="order.paid"
        ),
        tiers=[defs.BadgeTier(name=name, threshold=t) for name, t in (("a", 10), ("b", 10**12))],
    )  # fmt: skip
    await _define(channel, defs.Definition(badge=badge))
    sender = events_grpc.EventServiceStub(channel)

    huge = await sender.TrackEvent(_order("huge", 10**15))
    fair = await sender.TrackEvent(_order("fair", 5))

    reason = f"value: {10**15} is beyond the maximum event value of {BILLION}"
    assert huge.effects.status == events_pb.EVENT_STATUS_REJECTED
    assert huge.effects.rejected_reason == reason
    assert (list(huge.effects.board_ids), list(huge.effects.badge_unlocks)) == ([], [])
    assert fair.effects.status == events_pb.EVENT_STATUS_APPLIED
    flagged = await admin_grpc.RulesAdminServiceStub(channel).ListFlaggedEvents(
        admin_pb.ListFlaggedEventsRequest(user_id="ana")
    )
    assert [(e.idempotency_key, e.value, e.reason) for e in flagged.events] == [
        ("huge", 10**15, reason)
    ]
    rank = await board_grpc.LeaderboardServiceStub(channel).GetRank(
        board_pb.GetRankRequest(board=board_pb.BoardRef(board_id="spend"), member_id="ana")
    )
    assert rank.entry.score == 5
    badges = await player_grpc.PlayerServiceStub(channel).ListBadges(
        player_pb.ListBadgesRequest(user_id="ana")
    )
    assert [b.badge_id for b in badges.locked] == ["spender"]
    assert not badges.earned


async def test_the_limits_follow_the_settings(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    configured = settings.model_copy(
        update={"event_max_value": 100, "max_grant_amounts": {"points": 5 * 10**10}}
    )
    app = build_app(configured, clock=clock)
    server = await start_server(app, "127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            await _five_boosts(channel)
            sender = events_grpc.EventServiceStub(channel)
            boosted = await sender.TrackEvent(_order("o1", 100))
            beyond = await sender.TrackEvent(_order("o2", 101))
    finally:
        await server.stop(0)
        await app.close()

    assert [g.reward.amount for g in boosted.effects.grants] == [5 * 10**10]
    assert beyond.effects.rejected_reason == "value: 101 is beyond the maximum event value of 100"
