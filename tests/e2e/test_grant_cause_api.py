"""A grant's cause is what it said when the grant was decided, whatever happens later."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import grants_pb2_grpc as grants_grpc
from service.gen.engagement.v1 import rewards_pb2
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)


async def test_a_make_up_does_not_rewrite_the_cause_of_an_earlier_grant(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    program = admin_pb.CheckInProgram(
        cycle=[admin_pb.CycleDay(rewards=[POINTS])], make_up_window_days=3,
        make_up_tickets_per_month=1,
    )  # fmt: skip
    await admin_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        admin_pb.UpdateCheckInProgramRequest(program=program)
    )
    check_ins = pb_grpc.CheckInServiceStub(channel)
    clock.current = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    await check_ins.CheckIn(pb.CheckInRequest(user_id="ann", timezone="UTC"))
    clock.current = dt.datetime(2026, 3, 12, 12, tzinfo=dt.UTC)  # the 11th is missed
    third = await check_ins.CheckIn(pb.CheckInRequest(user_id="ann"))
    (grant,) = third.grants

    await check_ins.MakeUpCheckIn(pb.MakeUpCheckInRequest(user_id="ann", day="2026-03-11"))
    streak = await check_ins.GetStreak(pb.GetStreakRequest(user_id="ann"))
    cause = (
        await grants_grpc.GrantAdminServiceStub(channel).GetGrant(
            grants_pb.GetGrantRequest(grant_id=grant.idempotency_key)
        )
    ).cause

    assert streak.streak.current == 3  # the make-up re-joined the streak and renumbered
    assert (cause.check_in.day, cause.check_in.streak) == ("2026-03-12", 1)
