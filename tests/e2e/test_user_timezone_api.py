"""One timezone per user: set by a check-in or an event, used by check-ins and tasks alike."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

NOON = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


async def _daily_task(channel: grpc.aio.Channel) -> None:
    task = defs.TaskDefinition(
        task_id="daily", title="Daily", event_type="order.paid", cadence=defs.CADENCE_DAILY,
        tiers=[defs.TaskTier(target=5)],
    )  # fmt: skip
    await admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )


def _event(user: str, key: str, timezone: str = "") -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id=user, type="order.paid", idempotency_key=key, timezone=timezone
    )


async def test_a_check_in_timezone_sets_the_window_of_daily_tasks(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = NOON
    await _daily_task(channel)
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="ana", timezone="Europe/Berlin")
    )

    tracked = await events_grpc.EventServiceStub(channel).TrackEvent(_event("ana", "k1"))
    profile = await player_grpc.PlayerServiceStub(channel).GetProfile(
        player_pb.GetProfileRequest(user_id="ana")
    )

    (progress,) = tracked.effects.task_progress
    berlin_midnight = dt.datetime(2026, 3, 10, 23, tzinfo=dt.UTC)
    assert progress.window_end.ToDatetime(dt.UTC) == berlin_midnight
    assert profile.profile.timezone == "Europe/Berlin"


async def test_an_event_timezone_serves_check_ins_that_pass_none(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = dt.datetime(2026, 3, 10, 20, tzinfo=dt.UTC)  # the 11th in Tokyo
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    await events_grpc.EventServiceStub(channel).TrackEvent(_event("bob", "k1", "Asia/Tokyo"))

    done = await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="bob"))
    streak = await check_ins.GetStreak(check_in_pb.GetStreakRequest(user_id="bob"))

    assert (done.check_in.day, done.check_in.timezone) == ("2026-03-11", "Asia/Tokyo")
    assert streak.streak.timezone == "Asia/Tokyo"


async def test_a_repeat_check_in_keeps_the_stored_timezone_and_an_event_moves_it(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = NOON
    await _daily_task(channel)
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="cy", timezone="Europe/Berlin"))

    repeat = await check_ins.CheckIn(
        check_in_pb.CheckInRequest(user_id="cy", timezone="America/New_York")
    )
    kept = await sender.TrackEvent(_event("cy", "k1"))
    moved = await sender.TrackEvent(_event("cy", "k2", "America/New_York"))
    streak = await check_ins.GetStreak(check_in_pb.GetStreakRequest(user_id="cy"))

    assert repeat.already_checked_in
    assert kept.effects.task_progress[0].window_end.ToDatetime(dt.UTC) == dt.datetime(
        2026, 3, 10, 23, tzinfo=dt.UTC
    )
    assert moved.effects.task_progress[0].window_end.ToDatetime(dt.UTC) == dt.datetime(
        2026, 3, 11, 4, tzinfo=dt.UTC
    )
    assert streak.streak.timezone == "America/New_York"
