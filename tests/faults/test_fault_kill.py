"""The service SIGKILLed under event and score load: acknowledged calls stay, retries double
nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from tests.faults import game, write_load
from tests.faults.conftest import StartService, report
from tests.faults.load import Attempt, Load, Rpc, call, codes, eventually
from tests.faults.report import CaseRow
from tests.faults.tally import count_calls, count_effects, count_writes
from tests.support import auth
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

# Each kill cuts the calls in flight at one moment; a few raise the odds of cutting one
# between its commit and its answer.
KILLS = 3


def _flowing(loads: list[Load], since: float, wanted: int) -> Callable[[], Awaitable[bool]]:
    async def flowing() -> bool:
        return all(load.oks_after(since) >= wanted for load in loads)

    return flowing


async def _retry(channel: grpc.aio.Channel, failed: list[Attempt]) -> list[Attempt]:
    """Send every unacknowledged call again with its key, as a client that heard nothing would."""
    events = events_grpc.EventServiceStub(channel).TrackEvent
    scores = board_grpc.LeaderboardServiceStub(channel).SubmitScore
    rpcs: dict[str, Rpc] = {"TrackEvent": events, "SubmitScore": scores}
    return list(
        await asyncio.gather(*(call(a.kind, a.key, rpcs[a.kind], a.request) for a in failed))
    )


def _had_counted(retry: Attempt) -> bool:
    """Whether the retry found its first call stored already."""
    answer = retry.response
    return bool(answer.effects.duplicate if retry.kind == "TrackEvent" else answer.duplicate)


async def _aggregates_match_ledger(engine: AsyncEngine) -> bool:
    sql = (
        "select count(*) from board_scores s full join (select member_id, sum(value) as total "
        "from score_ledger where board_id = :b group by member_id) l using (member_id) "
        "where s.board_id = :b and s.score is distinct from l.total"
    )
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(sql), {"b": game.BOARD})).scalar_one()) == 0


async def test_a_killed_service_keeps_every_acknowledged_call_and_retries_double_nothing(
    start_service: StartService, fault_engine: AsyncEngine, case: Callable[[str], CaseRow]
) -> None:
    row = case(f"service SIGKILLed {KILLS} times")
    service = await start_service()
    async with auth.channel(service.port) as channel:
        await game.define_task(channel)
        await game.define_board(channel)
        events = write_load.events(channel, 6, "kill").start()
        scores = write_load.scores(channel, 6, "kill").start()
        loads = [events, scores]
        for _ in range(KILLS):
            await wait_until(_flowing(loads, time.monotonic(), 60), within=60, what="load")
            await service.kill()
            await service.start()
        await wait_until(_flowing(loads, time.monotonic(), 30), within=60, what="load after")
        for load in loads:
            await load.stop()
        attempts = events.attempts + scores.attempts
        failed = [a for a in attempts if not a.ok]
        retried = await _retry(channel, failed)
        served: list[tuple[str, int, int]] = []
        truth: list[tuple[str, int, int]] = []

        async def board_matches() -> bool:
            nonlocal served, truth
            truth = game.ranked(await game.board_truth(fault_engine))
            served = await game.board_served(channel)
            return served == truth

        converged = await eventually(board_matches, within=30)

    count_calls(row, attempts + retried)
    stored_events, stored_scores = await game.events(fault_engine), await game.scores(fault_engine)
    lost = count_writes(row, events.attempts, stored_events)
    lost += count_writes(row, scores.attempts, stored_scores)
    event_keys = [a.key for a in events.attempts]
    lost += count_effects(row, event_keys, await game.event_grants(fault_engine))
    repeats = [a for a in retried if a.ok and _had_counted(a)]
    row.notes = (
        f"events {codes(events.attempts)}, scores {codes(scores.attempts)}, "
        f"{len(failed)} unacknowledged retried: {codes(retried)}, "
        f"{len(repeats)} of them had counted before the kill; board "
        f"{'matches' if converged else 'differs from'} Postgres"
    )
    report(row)
    assert (row.lost, row.duplicated) == (0, 0), lost[:5]
    assert failed, "the kill cut no call"
    assert all(a.ok for a in retried), codes(retried)
    assert all(stored_events[k] == 1 for k in event_keys)
    assert all(stored_scores[a.key] == 1 for a in scores.attempts)
    assert await _aggregates_match_ledger(fault_engine)
    assert converged, f"Redis serves {served[:3]}... where Postgres has {truth[:3]}..."
