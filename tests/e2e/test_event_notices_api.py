"""TrackEvent tells the caller what it did not do: no rule for the type, a board not scored."""

from __future__ import annotations

import grpc
import pytest

from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc

pytestmark = pytest.mark.e2e

APPLIED = events_pb.EVENT_STATUS_APPLIED


def _board(board_id: str, partition_attribute: str = "") -> board_pb.Board:
    return board_pb.Board(
        board_id=board_id,
        title=board_id,
        sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM,
        tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME),
        timezone="UTC",
        retention_periods=1,
        source_event_types=["order.paid"],
        partition_attribute=partition_attribute,
    )


async def test_an_event_no_rule_uses_is_applied_with_a_notice(channel: grpc.aio.Channel) -> None:
    sender = events_grpc.EventServiceStub(channel)
    reply = await sender.TrackEvent(
        events_pb.TrackEventRequest(user_id="u1", type="ordr.paid", idempotency_key="k1")
    )
    again = await sender.TrackEvent(
        events_pb.TrackEventRequest(user_id="u1", type="ordr.paid", idempotency_key="k1")
    )

    assert reply.effects.status == APPLIED
    assert list(reply.effects.notices) == ["no rule or board uses event type ordr.paid"]
    assert (again.effects.duplicate, list(again.effects.notices)) == (
        True,
        list(reply.effects.notices),
    )


async def test_a_board_left_unscored_for_a_missing_partition_is_named(
    channel: grpc.aio.Channel,
) -> None:
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    await admin.UpsertBoard(board_pb.UpsertBoardRequest(board=_board("regional", "region")))
    await admin.UpsertBoard(board_pb.UpsertBoardRequest(board=_board("global")))
    sender = events_grpc.EventServiceStub(channel)

    missing = await sender.TrackEvent(
        events_pb.TrackEventRequest(user_id="u1", type="order.paid", value=5, idempotency_key="k1")
    )
    present = await sender.TrackEvent(
        events_pb.TrackEventRequest(
            user_id="u1",
            type="order.paid",
            value=5,
            idempotency_key="k2",
            attributes={"region": "eu"},
        )
    )

    assert missing.effects.status == APPLIED
    assert list(missing.effects.board_ids) == ["global"]
    assert list(missing.effects.notices) == [
        "not scored on board regional: attribute region missing"
    ]
    assert sorted(present.effects.board_ids) == ["global", "regional"]
    assert list(present.effects.notices) == []
