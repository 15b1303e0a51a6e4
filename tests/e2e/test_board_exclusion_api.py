"""Excluding a member keeps them off every board until reinstated; their tasks still move."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from service.gen.engagement.v1 import audit_pb2 as audit_pb
from service.gen.engagement.v1 import audit_pb2_grpc as audit_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e


def _board(board_id: str) -> pb.Board:
    return pb.Board(
        board_id=board_id, title=board_id, sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=pb.AGGREGATION_SUM, tie_policy=pb.TIE_POLICY_FIRST_TO_REACH,
        period=pb.Period(kind=pb.PERIOD_KIND_DAILY), timezone="UTC", retention_periods=3,
        source_event_types=["order.paid"],
    )  # fmt: skip


def _order(member: str, key: str) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id=member, type="order.paid", value=5, idempotency_key=key
    )


async def _members(boards: pb_grpc.LeaderboardServiceAsyncStub, board_id: str) -> list[str]:
    page = await boards.GetLeaderboard(
        pb.GetLeaderboardRequest(board=pb.BoardRef(board_id=board_id))
    )
    return [e.member_id for e in page.entries]


async def test_an_excluded_member_stays_off_every_board_until_reinstated(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    boards = pb_grpc.LeaderboardServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    for board_id in ("daily", "other"):
        await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board(board_id)))
    task = defs.TaskDefinition(
        task_id="buy", title="Buy", event_type="order.paid", tiers=[defs.TaskTier(target=5)]
    )
    await rules_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        rules_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )
    await sender.TrackEvent(_order("cheat", "k1"))
    await sender.TrackEvent(_order("fair", "k2"))

    excluded = await admin.ExcludeMember(
        pb.ExcludeMemberRequest(member_id="cheat", reason="bot traffic")
    )
    again = await admin.ExcludeMember(pb.ExcludeMemberRequest(member_id="cheat", reason="x"))
    after = await sender.TrackEvent(_order("cheat", "k3"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await boards.SubmitScore(
            pb.SubmitScoreRequest(board_id="daily", member_id="cheat", value=1, idempotency_key="s")
        )
    clock.current += dt.timedelta(days=1)  # a period to come
    next_day = await sender.TrackEvent(_order("cheat", "k4"))
    during = {b: await _members(boards, b) for b in ("daily", "other")}
    reinstated = await admin.ReinstateMember(pb.ReinstateMemberRequest(member_id="cheat"))
    await sender.TrackEvent(_order("cheat", "k5"))
    entries = await audit_grpc.AuditAdminServiceStub(channel).ListAuditEntries(
        audit_pb.ListAuditEntriesRequest()
    )

    assert (excluded.excluded, excluded.periods, again.excluded) == (True, 2, False)
    assert list(after.effects.board_ids) == []
    assert list(after.effects.notices) == [
        "not scored on board daily: member cheat is excluded from boards",
        "not scored on board other: member cheat is excluded from boards",
    ]
    assert after.effects.task_progress[0].progress == 2  # tasks still count
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert list(next_day.effects.board_ids) == []
    assert during == {"daily": [], "other": []}
    yesterday = await boards.GetLeaderboard(
        pb.GetLeaderboardRequest(board=pb.BoardRef(board_id="daily", period_id="d2026-03-10"))
    )
    assert [e.member_id for e in yesterday.entries] == ["fair"]
    assert reinstated.reinstated
    assert await _members(boards, "daily") == ["cheat"]
    methods = [e.rpc for e in entries.entries]
    assert methods[:2] == [
        "LeaderboardAdminService/ReinstateMember",
        "LeaderboardAdminService/ExcludeMember",
    ]
