"""Many identical calls at once, beside background load: each has its effect exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from tests.faults import game
from tests.faults.conftest import StartService, report
from tests.faults.load import Attempt, Load, call, codes
from tests.faults.report import CaseRow
from tests.faults.tally import count_calls, count_effects, count_writes
from tests.support import auth

pytestmark = pytest.mark.faults


def _background(channel: grpc.aio.Channel) -> Load:
    """Check-ins of ever new users, two at a time, for the length of the burst."""
    stub = check_in_grpc.CheckInServiceStub(channel)

    async def check_in(worker: int, n: int) -> Attempt:
        user = f"bg-{worker}-{n}"
        request = check_in_pb.CheckInRequest(user_id=user, timezone="UTC")
        return await call("CheckIn", user, stub.CheckIn, request)

    return Load(check_in, workers=2, max_calls=5000, max_seconds=120).start()


async def _count_background(row: CaseRow, background: Load, engine: AsyncEngine) -> None:
    attempts = await background.stop()
    count_calls(row, attempts)
    count_writes(row, attempts, await game.check_ins(engine))
    owed = [a.key for a in attempts if a.ok]
    count_effects(row, owed, await game.counts(engine, "select user_id from grant_outbox"))


async def test_100_identical_check_ins_make_one_check_in_and_one_grant(
    start_service: StartService, fault_engine: AsyncEngine, case: Callable[[str], CaseRow]
) -> None:
    row = case("100 identical CheckIn")
    service = await start_service()
    async with auth.channel(service.port) as channel:
        await game.define_program(channel)
        background = _background(channel)
        stub = check_in_grpc.CheckInServiceStub(channel)
        request = check_in_pb.CheckInRequest(user_id="same", timezone="UTC")
        burst = await asyncio.gather(
            *(call("CheckIn", "same", stub.CheckIn, request) for _ in range(100))
        )
        await _count_background(row, background, fault_engine)

    count_calls(row, burst)
    count_writes(row, burst, await game.check_ins(fault_engine))
    count_effects(
        row, ["same"], await game.counts(fault_engine, "select user_id from grant_outbox")
    )
    firsts = [a for a in burst if a.ok and not a.response.already_checked_in]
    row.notes = f"burst {codes(burst)}, {len(firsts)} answered as the first check-in"
    report(row)
    assert (row.lost, row.duplicated) == (0, 0)
    assert all(a.ok for a in burst), codes(burst)
    assert len(firsts) == 1
    assert {a.response.check_in.day for a in burst} == {firsts[0].response.check_in.day}


async def test_one_event_sent_1000_times_at_once_has_one_effect(
    start_service: StartService, fault_engine: AsyncEngine, case: Callable[[str], CaseRow]
) -> None:
    row = case("1,000 identical TrackEvent")
    service = await start_service()
    async with auth.channel(service.port) as channel:
        await game.define_program(channel)
        await game.define_task(channel)
        background = _background(channel)
        stub = events_grpc.EventServiceStub(channel)
        request = events_pb.TrackEventRequest(
            user_id="same", type=game.EVENT_TYPE, value=1, idempotency_key="the-order"
        )
        burst = await asyncio.gather(
            *(call("TrackEvent", "the-order", stub.TrackEvent, request) for _ in range(1000))
        )
        await _count_background(row, background, fault_engine)

    count_calls(row, burst)
    count_writes(row, burst, await game.events(fault_engine))
    grants = await game.counts(
        fault_engine, "select user_id from grant_outbox where user_id = 'same'"
    )
    count_effects(row, ["same"], grants)
    firsts = [a for a in burst if a.ok and not a.response.effects.duplicate]
    granted = {tuple(g.idempotency_key for g in a.response.effects.grants) for a in burst if a.ok}
    row.notes = f"burst {codes(burst)}, {len(firsts)} answered as the first"
    report(row)
    assert (row.lost, row.duplicated) == (0, 0)
    assert all(a.ok for a in burst), codes(burst)
    assert len(firsts) == 1
    assert len(granted) == 1, "every answer reports the same one grant"
    assert len(next(iter(granted))) == 1


async def test_one_score_submitted_500_times_at_once_counts_once(
    start_service: StartService, fault_engine: AsyncEngine, case: Callable[[str], CaseRow]
) -> None:
    row = case("500 identical SubmitScore")
    service = await start_service()
    async with auth.channel(service.port) as channel:
        await game.define_program(channel)
        await game.define_board(channel)
        background = _background(channel)
        stub = board_grpc.LeaderboardServiceStub(channel)
        request = board_pb.SubmitScoreRequest(
            board_id=game.BOARD, member_id="same", value=7, idempotency_key="the-score"
        )
        burst = await asyncio.gather(
            *(call("SubmitScore", "the-score", stub.SubmitScore, request) for _ in range(500))
        )
        await _count_background(row, background, fault_engine)
        served = await game.board_served(channel)

    count_calls(row, burst)
    count_writes(row, burst, await game.scores(fault_engine))
    firsts = [a for a in burst if a.ok and not a.response.duplicate]
    row.notes = f"burst {codes(burst)}, {len(firsts)} answered as the first"
    report(row)
    assert (row.lost, row.duplicated) == (0, 0)
    assert all(a.ok for a in burst), codes(burst)
    assert len(firsts) == 1
    assert {a.response.score for a in burst} == {7}
    assert await game.board_truth(fault_engine) == [("same", 7)]
    assert served == [("same", 7, 1)]
