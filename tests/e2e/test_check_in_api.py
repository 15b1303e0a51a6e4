"""Check-ins and the admin program through the generated stubs against a real server."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.health import wait_for_health
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.REWARD_KIND_POINTS


def _program() -> admin_pb.CheckInProgram:
    return admin_pb.CheckInProgram(
        cycle=[
            admin_pb.CycleDay(rewards=[rewards_pb2.Reward(kind=POINTS, amount=10)]),
            admin_pb.CycleDay(rewards=[rewards_pb2.Reward(kind=POINTS, amount=20)]),
        ],
        milestones=[
            admin_pb.Milestone(
                days=2,
                rewards=[
                    rewards_pb2.Reward(
                        kind=rewards_pb2.REWARD_KIND_ITEM, amount=1, item_code="chest"
                    )
                ],
            )
        ],
        starting_freezes=1,
        max_freezes=2,
        make_up_window_days=2,
        make_up_tickets_per_month=1,
    )


async def _configure(channel: grpc.aio.Channel) -> admin_pb.CheckInProgram:
    admin = admin_grpc.CheckInAdminServiceStub(channel)
    response = await admin.UpdateCheckInProgram(
        admin_pb.UpdateCheckInProgramRequest(program=_program())
    )
    return response.program


async def test_health_reports_serving_once_stores_answer(channel: grpc.aio.Channel) -> None:
    await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)
    await wait_for_health(
        channel, health_pb2.HealthCheckResponse.SERVING, "engagement.v1.CheckInService"
    )


async def test_reflection_lists_the_engagement_services(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = [r async for r in stub.ServerReflectionInfo(iter([request]))]

    names = {s.name for s in responses[0].list_services_response.service}
    assert {"engagement.v1.CheckInService", "engagement.v1.CheckInAdminService"} <= names
    assert "grpc.health.v1.Health" in names


async def test_check_in_streak_and_idempotent_repeat(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    program = await _configure(channel)
    stub = pb_grpc.CheckInServiceStub(channel)
    request = pb.CheckInRequest(user_id="ana", timezone="Asia/Tokyo")

    first = await stub.CheckIn(request)
    repeat = await stub.CheckIn(pb.CheckInRequest(user_id="ana"))
    clock.advance(days=1)
    second = await stub.CheckIn(request)

    assert program.version == 1
    assert (first.check_in.day, first.already_checked_in) == ("2026-03-10", False)
    assert [g.reward.amount for g in first.grants] == [10]
    assert first.grants[0].idempotency_key == "check_in:ana:2026-03-10:cycle:0"
    assert repeat.already_checked_in
    assert not repeat.grants
    assert repeat.check_in.day == "2026-03-10"
    assert second.streak.current == 2
    assert second.check_in.cycle_day == 2
    assert [(g.reward.kind, g.reward.amount) for g in second.grants] == [
        (POINTS, 20),
        (rewards_pb2.REWARD_KIND_ITEM, 1),
    ]


async def test_freeze_covers_a_missed_day_and_the_calendar_shows_it(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _configure(channel)
    stub = pb_grpc.CheckInServiceStub(channel)
    request = pb.CheckInRequest(user_id="bo", timezone="UTC")
    await stub.CheckIn(request)
    clock.advance(days=2)

    response = await stub.CheckIn(request)
    calendar = await stub.GetCheckInCalendar(pb.GetCheckInCalendarRequest(user_id="bo"))

    assert list(response.frozen_days) == ["2026-03-11"]
    assert (response.streak.current, response.streak.freezes) == (2, 0)
    statuses = {d.day: d.status for d in calendar.days}
    assert statuses["2026-03-09"] == pb.DAY_STATUS_NONE
    assert statuses["2026-03-10"] == pb.DAY_STATUS_CHECKED_IN
    assert statuses["2026-03-11"] == pb.DAY_STATUS_FROZEN
    assert statuses["2026-03-12"] == pb.DAY_STATUS_CHECKED_IN
    assert statuses["2026-03-13"] == pb.DAY_STATUS_NONE
    assert calendar.month == "2026-03"
    assert not calendar.today_rewards


async def test_make_up_restores_a_missed_day(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _configure(channel)
    stub = pb_grpc.CheckInServiceStub(channel)
    await stub.CheckIn(pb.CheckInRequest(user_id="cy", timezone="UTC"))
    clock.advance(days=2)

    made_up = await stub.MakeUpCheckIn(pb.MakeUpCheckInRequest(user_id="cy", day="2026-03-11"))
    streak = await stub.GetStreak(pb.GetStreakRequest(user_id="cy"))

    assert made_up.check_in.status == pb.DAY_STATUS_MADE_UP
    assert streak.streak.current == 2
    assert streak.streak.make_up_tickets == 0
    assert not streak.streak.checked_in_today


async def test_today_reward_preview_before_checking_in(channel: grpc.aio.Channel) -> None:
    await _configure(channel)
    stub = pb_grpc.CheckInServiceStub(channel)

    calendar = await stub.GetCheckInCalendar(
        pb.GetCheckInCalendarRequest(user_id="new", timezone="UTC", month="2026-03")
    )

    assert [(r.kind, r.amount) for r in calendar.today_rewards] == [(POINTS, 10)]
    assert calendar.days[9].status == pb.DAY_STATUS_OPEN


@pytest.mark.parametrize(
    ("request_message", "field"),
    [
        (pb.CheckInRequest(user_id="", timezone="UTC"), "user_id"),
        (pb.CheckInRequest(user_id="u" * 129, timezone="UTC"), "user_id"),
        (pb.CheckInRequest(user_id="u", timezone="Mars/Olympus"), "timezone"),
        (pb.CheckInRequest(user_id="u"), "timezone"),
    ],
)
async def test_bad_check_in_input_names_the_field(
    channel: grpc.aio.Channel, request_message: pb.CheckInRequest, field: str
) -> None:
    stub = pb_grpc.CheckInServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CheckIn(request_message)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(field)


@pytest.mark.parametrize(
    ("day", "code", "needle"),
    [
        ("2026-3-1", grpc.StatusCode.INVALID_ARGUMENT, "day: must be a date"),
        ("2026-03-01", grpc.StatusCode.INVALID_ARGUMENT, "day: must be one of the last 2 days"),
        ("0001-01-01", grpc.StatusCode.INVALID_ARGUMENT, "day: must be one of the last 2 days"),
        ("2026-03-10", grpc.StatusCode.INVALID_ARGUMENT, "day: must be one of the last 2 days"),
        ("2026-03-09", grpc.StatusCode.FAILED_PRECONDITION, "already made_up"),
    ],
)
async def test_make_up_outside_the_rules_is_refused(
    channel: grpc.aio.Channel, day: str, code: grpc.StatusCode, needle: str
) -> None:
    await _configure(channel)
    stub = pb_grpc.CheckInServiceStub(channel)
    await stub.MakeUpCheckIn(
        pb.MakeUpCheckInRequest(user_id="di", day="2026-03-09", timezone="UTC")
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.MakeUpCheckIn(pb.MakeUpCheckInRequest(user_id="di", day=day, timezone="UTC"))
    assert raised.value.code() == code
    assert needle in str(raised.value.details())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.ClearField("cycle"), "program.cycle"),
        (
            lambda p: setattr(p.cycle[0].rewards[0], "amount", 0),
            "program.cycle[0].rewards[0].amount",
        ),
        (lambda p: setattr(p.cycle[0].rewards[0], "kind", 0), "program.cycle[0].rewards[0].kind"),
        (lambda p: setattr(p.milestones[0], "days", 0), "program.milestones[0].days"),
        (lambda p: setattr(p, "starting_freezes", 5), "program.starting_freezes"),
        (lambda p: setattr(p, "make_up_window_days", -1), "program.make_up_window_days"),
    ],
)
async def test_invalid_program_is_refused_and_not_stored(
    channel: grpc.aio.Channel, mutate: object, field: str
) -> None:
    admin = admin_grpc.CheckInAdminServiceStub(channel)
    program = _program()
    assert callable(mutate)
    mutate(program)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.UpdateCheckInProgram(admin_pb.UpdateCheckInProgramRequest(program=program))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(field + ":")
    current = await admin.GetCheckInProgram(admin_pb.GetCheckInProgramRequest())
    assert current.program.version == 0
