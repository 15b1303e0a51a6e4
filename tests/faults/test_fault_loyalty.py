"""The loyalty system down while check-ins and events produce grants: each arrives once after."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.loyalty_stub.ledger import GrantLedger
from service.loyalty_stub.server import RunningStub, start_stub
from tests.faults import game, write_load
from tests.faults.conftest import StartService, outage_seconds, report
from tests.faults.load import Load, codes, eventually
from tests.faults.report import CaseRow
from tests.faults.tally import count_calls, count_effects, count_writes
from tests.support import auth
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

LOYALTY_DOWN_S = outage_seconds("FAULTS_LOYALTY_DOWN_SECONDS", 30)
DELIVER_WITHIN_S = 60.0
# The relay retries with backoff; capped at 2 s, the backlog goes out soon after the return.
RELAY = {
    "ENGAGEMENT_LOYALTY_SINK": "grpc",
    "ENGAGEMENT_LOYALTY_TIMEOUT_SECONDS": "1",
    "ENGAGEMENT_RELAY_LEASE_SECONDS": "5",
    "ENGAGEMENT_RELAY_POLL_INTERVAL_SECONDS": "0.05",
    "ENGAGEMENT_RELAY_BACKOFF_INITIAL_SECONDS": "0.1",
    "ENGAGEMENT_RELAY_BACKOFF_MAX_SECONDS": "2",
    "ENGAGEMENT_RELAY_MAX_ATTEMPTS": "1000",
}


class Loyalty:
    """The loyalty stub on a fixed port; stopping and starting it keeps what it received."""

    def __init__(self) -> None:
        self.ledger = GrantLedger()
        self._running: RunningStub | None = None
        self.port = 0

    async def start(self) -> None:
        self._running = await start_stub(f"127.0.0.1:{self.port}", ledger=self.ledger)
        self.port = self._running.port

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.stop(0)
            self._running = None


@pytest.fixture
async def loyalty() -> AsyncIterator[Loyalty]:
    stub = Loyalty()
    await stub.start()
    yield stub
    await stub.stop()


def _flowing(loads: list[Load], since: float, wanted: int) -> Callable[[], Awaitable[bool]]:
    async def flowing() -> bool:
        return all(load.oks_after(since) >= wanted for load in loads)

    return flowing


async def _outbox(engine: AsyncEngine) -> Counter[str]:
    return await game.counts(engine, "select idempotency_key from grant_outbox")


async def test_grants_made_while_the_loyalty_system_is_down_arrive_once_each_after(
    start_service: StartService,
    fault_engine: AsyncEngine,
    loyalty: Loyalty,
    case: Callable[[str], CaseRow],
) -> None:
    row = case(f"loyalty down {LOYALTY_DOWN_S:g} s")
    service = await start_service(ENGAGEMENT_LOYALTY_ADDRESS=f"127.0.0.1:{loyalty.port}", **RELAY)
    async with auth.channel(service.port) as channel:
        await game.define_program(channel)
        await game.define_task(channel)
        check_ins = write_load.check_ins(channel, 2, "loyal").start()
        events = write_load.events(channel, 2, "loyal").start()
        loads = [check_ins, events]
        await wait_until(_flowing(loads, time.monotonic(), 30), what="load before the outage")
        await loyalty.stop()
        down_with = len(loyalty.ledger.effects)
        await asyncio.sleep(LOYALTY_DOWN_S)  # the outage itself
        during = len(loyalty.ledger.effects) - down_with
        await loyalty.start()
        back = time.monotonic()
        await wait_until(_flowing(loads, back, 30), within=60, what="load after the outage")
        for load in loads:
            await load.stop()

    outbox = await _outbox(fault_engine)

    async def delivered() -> bool:
        return set(loyalty.ledger.effects) >= set(outbox)

    arrived = await eventually(delivered, within=DELIVER_WITHIN_S)
    drained_s = time.monotonic() - back
    effects = Counter(loyalty.ledger.effects)
    attempts = check_ins.attempts + events.attempts
    count_calls(row, attempts)
    lost = count_writes(row, check_ins.attempts, await game.check_ins(fault_engine))
    lost += count_writes(row, events.attempts, await game.events(fault_engine))
    lost += count_effects(row, [a.key for a in check_ins.attempts if a.ok],
                          await game.check_in_grants(fault_engine))  # fmt: skip
    lost += count_effects(row, [a.key for a in events.attempts if a.ok],
                          await game.event_grants(fault_engine))  # fmt: skip
    lost += count_effects(row, outbox, effects)
    unknown = set(effects) - set(outbox)
    row.duplicated += len(unknown)
    row.notes = (
        f"check-ins {codes(check_ins.attempts)}, events {codes(events.attempts)}, "
        f"{len(outbox)} grants, {during} delivered while down, "
        f"{loyalty.ledger.stats.duplicates} redeliveries absorbed by grant id, "
        + (f"all delivered {drained_s:.1f} s after the return" if arrived else "not all delivered")
    )
    report(row)
    assert (row.lost, row.duplicated) == (0, 0), lost[:5]
    assert during == 0
    assert arrived
    assert all(a.ok for a in attempts), codes(attempts)
    assert all(n == 1 for n in effects.values())
