"""Redis taken away under score and read load: UNAVAILABLE or right, then boards heal alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults import game
from tests.faults.board_load import BoardLoad, seed_top
from tests.faults.conftest import StartService, outage_seconds, report
from tests.faults.load import OK, UNAVAILABLE, codes, eventually
from tests.faults.report import CaseRow
from tests.faults.stores import RedisProcess
from tests.faults.tally import count_calls, count_writes
from tests.support import auth
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

REDIS_DOWN_S = outage_seconds("FAULTS_REDIS_DOWN_SECONDS", 10)
# How long the boards may take to match Postgres again once Redis is back and load stopped.
CONVERGE_WITHIN_S = 60.0


async def _run_with_fault(
    channel: grpc.aio.Channel, fault: Callable[[], Awaitable[None]]
) -> BoardLoad:
    """Seed the board, start the load, inject the fault once the load is flowing, and stop the
    load once reads and writes are answered again after it."""
    await game.define_board(channel)
    await seed_top(channel)
    load = BoardLoad(channel).start()
    start = time.monotonic()
    await wait_until(lambda: _oks(load, start, 50), what="load flowing before the fault")
    await fault()
    back = time.monotonic()
    await eventually(lambda: _oks(load, back, 20), within=CONVERGE_WITHIN_S)
    await load.stop()
    return load


async def _oks(load: BoardLoad, since: float, wanted: int) -> bool:
    return load.reads.oks_after(since) >= wanted and load.writes.oks_after(since) >= wanted


async def _judge(
    row: CaseRow, load: BoardLoad, channel: grpc.aio.Channel, engine: AsyncEngine
) -> tuple[list[str], bool]:
    attempts = load.writes.attempts + load.reads.attempts
    count_calls(row, attempts)
    count_writes(row, load.writes.attempts, await game.scores(engine))
    wrong = load.wrong()
    served: list[tuple[str, int, int]] = []
    truth: list[tuple[str, int, int]] = []

    async def matches_postgres() -> bool:
        nonlocal served, truth
        truth = game.ranked(await game.board_truth(engine))
        try:
            served = await game.board_served(channel)
        except grpc.aio.AioRpcError:
            return False
        return served == truth

    converged = await eventually(matches_postgres, within=CONVERGE_WITHIN_S)
    odd = {code for code in codes(attempts) if code not in {OK.name, UNAVAILABLE.name}}
    row.notes = (
        f"writes {codes(load.writes.attempts)}, reads {codes(load.reads.attempts)}, "
        f"{len(wrong)} wrong answers, board {'matches' if converged else 'differs from'} "
        f"Postgres ({len(served)} served, {len(truth)} in Postgres)"
    )
    report(row)
    for problem in wrong[:5]:
        print("wrong:", problem)
    # NOT_FOUND is a right answer for a live member nobody scored yet; wrong() judges it.
    assert odd <= {"NOT_FOUND"}, codes(attempts)
    return wrong, converged


async def test_redis_stopped_under_load_answers_unavailable_or_right_then_boards_converge(
    start_service: StartService,
    fault_engine: AsyncEngine,
    fault_redis: RedisProcess,
    case: Callable[[str], CaseRow],
) -> None:
    row = case(f"Redis stopped {REDIS_DOWN_S:g} s")
    service = await start_service()

    async def outage() -> None:
        await asyncio.to_thread(fault_redis.stop)
        await asyncio.sleep(REDIS_DOWN_S)  # the outage itself
        await asyncio.to_thread(fault_redis.start)

    async with auth.channel(service.port) as channel:
        load = await _run_with_fault(channel, outage)
        wrong, converged = await _judge(row, load, channel, fault_engine)
    assert (row.lost, row.duplicated) == (0, 0)
    assert wrong == []
    assert converged, "the board did not return to Postgres's ranks without an operator"
    assert any(a.code is UNAVAILABLE for a in load.reads.attempts), "the outage went unseen"
    assert service.starts == 1
    assert service.alive()


async def test_redis_flushed_under_load_boards_rebuild_rank_for_rank(
    start_service: StartService,
    fault_engine: AsyncEngine,
    fault_redis: RedisProcess,
    case: Callable[[str], CaseRow],
) -> None:
    row = case("Redis flushed")
    service = await start_service()

    async def flush() -> None:
        await asyncio.to_thread(fault_redis.flush)

    async with auth.channel(service.port) as channel:
        load = await _run_with_fault(channel, flush)
        wrong, converged = await _judge(row, load, channel, fault_engine)
    assert (row.lost, row.duplicated) == (0, 0)
    assert wrong == []
    assert converged, "the board did not rebuild itself to Postgres's ranks"
    assert service.starts == 1
    assert service.alive()
