"""Postgres stopped under check-in and event load: UNAVAILABLE, then recovery, nothing lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.faults import game, write_load
from tests.faults.conftest import StartService, outage_seconds, report
from tests.faults.load import OK, UNAVAILABLE, Load, codes, eventually
from tests.faults.report import CaseRow
from tests.faults.stores import PostgresProcess
from tests.faults.tally import count_calls, count_effects, count_writes
from tests.support import auth
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

POSTGRES_DOWN_S = outage_seconds("FAULTS_POSTGRES_DOWN_SECONDS", 10)
RECOVER_WITHIN_S = 60.0


def _flowing(loads: list[Load], since: float, wanted: int) -> Callable[[], Awaitable[bool]]:
    async def flowing() -> bool:
        return all(load.oks_after(since) >= wanted for load in loads)

    return flowing


async def test_postgres_stopped_under_load_is_unavailable_then_recovers_losing_nothing(
    start_service: StartService,
    fault_engine: AsyncEngine,
    fault_postgres: PostgresProcess,
    case: Callable[[str], CaseRow],
) -> None:
    row = case(f"Postgres stopped {POSTGRES_DOWN_S:g} s")
    service = await start_service()
    async with auth.channel(service.port) as channel:
        await game.define_program(channel)
        await game.define_task(channel)
        check_ins = write_load.check_ins(channel, 3, "pg").start()
        events = write_load.events(channel, 3, "pg").start()
        loads = [check_ins, events]
        await wait_until(_flowing(loads, time.monotonic(), 30), what="load before the outage")
        await asyncio.to_thread(fault_postgres.stop)
        down = time.monotonic()
        await asyncio.sleep(POSTGRES_DOWN_S)  # the outage itself
        restarting = time.monotonic()
        await asyncio.to_thread(fault_postgres.start)
        back = time.monotonic()
        recovered = await eventually(_flowing(loads, back, 30), within=RECOVER_WITHIN_S)
        recovery_s = time.monotonic() - back
        for load in loads:
            await load.stop()

    attempts = check_ins.attempts + events.attempts
    count_calls(row, attempts)
    lost = count_writes(row, check_ins.attempts, await game.check_ins(fault_engine))
    lost += count_writes(row, events.attempts, await game.events(fault_engine))
    acked_users = [a.key for a in check_ins.attempts if a.ok]
    acked_events = [a.key for a in events.attempts if a.ok]
    lost += count_effects(row, acked_users, await game.check_in_grants(fault_engine))
    lost += count_effects(row, acked_events, await game.event_grants(fault_engine))
    during = [a for a in attempts if down < a.started and a.ended < restarting]
    row.notes = (
        f"check-ins {codes(check_ins.attempts)}, events {codes(events.attempts)}, "
        f"during the outage {codes(during)}, "
        + (f"recovered {recovery_s:.1f} s after the restart" if recovered else "no recovery")
    )
    report(row)
    assert (row.lost, row.duplicated) == (0, 0), lost[:5]
    assert set(codes(attempts)) <= {OK.name, UNAVAILABLE.name}
    assert during, "no call fell inside the outage"
    assert all(a.code is UNAVAILABLE for a in during), codes(during)
    assert recovered, "calls did not succeed again after Postgres returned"
    assert service.starts == 1
    assert service.alive()
