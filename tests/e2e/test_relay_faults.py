"""The relay under faults: loyalty outages, random failures, lost acknowledgements, two relays.

Every test checks exactly-once effect at the stub (each grant applied once, none lost) and
that each user's grants took effect in the order they were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.adapters.outbox.relay import Relay
from service.loyalty_stub.faults import Faults
from service.loyalty_stub.ledger import GrantLedger
from service.loyalty_stub.server import RunningStub, start_stub
from tests.support.grants import (
    assert_user_order,
    grpc_relay,
    make_grant,
    queue_grants,
    status_counts,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

USERS = 12


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub(seed=7)
    yield running
    await running.stop(0)


@asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[Relay]:
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        yield relay
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)
        await relay.sink.close()


async def steady_flow(
    engine: AsyncEngine, ticks: int, per_tick: int = 10, first: int = 0
) -> list[str]:
    """Queue `ticks` batches of `per_tick` grants, spread over USERS users, like check-ins.

    Each batch is its own transaction, so a relay running meanwhile claims grants between
    them. Grants are numbered from `first` on, so their keys sort in the order they were made.
    """
    keys: list[str] = []
    for tick in range(ticks):
        numbers = range(first + tick * per_tick, first + (tick + 1) * per_tick)
        grants = [make_grant(f"u{n % USERS}", n) for n in numbers]
        await queue_grants(engine, grants)
        keys.extend(g.idempotency_key for g in grants)
    return keys


async def all_delivered(engine: AsyncEngine, total: int) -> None:
    async def done() -> bool:
        return await status_counts(engine) == {"delivered": total}

    await wait_until(done, within=30, what=f"{total} grants delivered")


def assert_exactly_once(ledger: GrantLedger, keys: list[str]) -> None:
    assert len(ledger.effects) == len(set(ledger.effects)), "a grant took effect twice"
    assert set(ledger.effects) == set(keys), "grants lost or invented"
    assert_user_order(ledger.order_by_user())


async def test_a_loyalty_outage_under_a_steady_flow_loses_and_repeats_nothing(
    engine: AsyncEngine, stub: RunningStub
) -> None:
    async with running(grpc_relay(engine, stub.address, timeout=0.5)) as relay:

        async def some_delivered() -> bool:
            return len(stub.ledger.effects) >= 50

        async def outage_noticed() -> bool:
            return relay.counters.failed_calls >= 3

        # Grants keep arriving before, during and after the outage.
        keys = await steady_flow(engine, ticks=20)
        await wait_until(some_delivered, what="first deliveries")
        await stub.stop(grace=1.0)
        keys += await steady_flow(engine, ticks=20, first=len(keys))
        await wait_until(outage_noticed, what="failed calls during the outage")
        keys += await steady_flow(engine, ticks=20, first=len(keys))
        back = await start_stub(stub.address, ledger=stub.ledger)
        try:
            keys += await steady_flow(engine, ticks=10, first=len(keys))
            await all_delivered(engine, len(keys))
        finally:
            await back.stop(0)

    assert_exactly_once(stub.ledger, keys)
    assert stub.ledger.stats.duplicates == 0


async def test_a_loyalty_system_failing_30_percent_of_calls_gets_every_grant_once(
    engine: AsyncEngine, stub: RunningStub
) -> None:
    stub.injector.faults = Faults(failure_rate=0.3)
    async with running(grpc_relay(engine, stub.address, batch_size=20)):
        keys = await steady_flow(engine, ticks=40)
        await all_delivered(engine, len(keys))

    assert_exactly_once(stub.ledger, keys)
    assert stub.ledger.stats.failed_calls >= 5
    assert stub.ledger.stats.duplicates == 0


async def test_lost_acknowledgements_are_redelivered_without_a_second_effect(
    engine: AsyncEngine, stub: RunningStub
) -> None:
    stub.injector.faults = Faults(failure_rate=0.3, fail_after_apply=True)
    async with running(grpc_relay(engine, stub.address, batch_size=20)):
        keys = await steady_flow(engine, ticks=40)
        await all_delivered(engine, len(keys))

    assert_exactly_once(stub.ledger, keys)
    assert stub.ledger.stats.duplicates > 0, "no acknowledgement was lost: the test proved nothing"


async def test_two_relays_at_once_never_deliver_a_grant_twice(
    engine: AsyncEngine, database_url: str, stub: RunningStub
) -> None:
    stub.injector.faults = Faults(delay_seconds=0.005)
    backlog = [make_grant(f"u{n % 60}", n) for n in range(1200)]
    await queue_grants(engine, backlog)
    other_engine = create_async_engine(database_url)
    try:
        first = grpc_relay(engine, stub.address, batch_size=40, concurrency=2)
        second = grpc_relay(other_engine, stub.address, batch_size=40, concurrency=2)
        async with running(first), running(second):
            flow = await steady_flow(engine, ticks=30, first=len(backlog))
            keys = [g.idempotency_key for g in backlog] + flow
            await all_delivered(engine, len(keys))
    finally:
        await other_engine.dispose()

    assert_exactly_once(stub.ledger, keys)
    assert stub.ledger.stats.duplicates == 0
    assert first.counters.delivered > 0
    assert second.counters.delivered > 0
    assert first.counters.delivered + second.counters.delivered == len(keys)
