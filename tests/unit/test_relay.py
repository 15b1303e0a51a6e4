"""The relay's loop over in-memory fakes of the outbox queue and the loyalty sink."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Sequence

import pytest

from service.adapters.outbox.backoff import BackoffPolicy
from service.adapters.outbox.relay import Relay, RelayPolicy
from service.app.grants.ports import LoyaltyUnavailable
from service.domain.grant_delivery import (
    DeliveryOutcome,
    DeliveryResult,
    GrantStatus,
    OutboxGrant,
    Settlement,
)
from service.domain.rewards import Grant, Reward, RewardKind
from tests.support.waiting import wait_until

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
POLICY = RelayPolicy(
    batch_size=10, lease_seconds=5, max_attempts=3, poll_interval_seconds=0.001,
    backoff=BackoffPolicy(0.001, 0.002),
)  # fmt: skip


class FakeQueue:
    """Hands out every pending grant not yet settled; records settlements."""

    def __init__(self, count: int) -> None:
        self.grants = {
            i: OutboxGrant(
                i, Grant(f"k{i}", "u", Reward(RewardKind.POINTS, 1), "r", "t", "c", 1),
                GrantStatus.PENDING, 0, AT,
            )
            for i in range(1, count + 1)
        }  # fmt: skip
        self.settled: list[Settlement] = []
        self.leased: set[int] = set()
        self.settle_failures = 0
        self.claim_failures = 0

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[OutboxGrant]:
        if self.claim_failures:
            self.claim_failures -= 1
            raise ConnectionRefusedError("postgres is down")
        pending = [
            g for g in self.grants.values()
            if g.status is GrantStatus.PENDING and g.id not in self.leased
        ][:limit]  # fmt: skip
        for g in pending:
            self.leased.add(g.id)
            self.grants[g.id] = dataclasses.replace(g, attempts=g.attempts + 1)
        return [self.grants[g.id] for g in pending]

    async def settle(self, owner: str, settlement: Settlement) -> None:
        if self.settle_failures:
            self.settle_failures -= 1
            raise ConnectionResetError("postgres went away")
        self.settled.append(settlement)
        self.leased -= {*settlement.delivered, *(r.id for r in settlement.retry)}
        self.leased -= {i for i, _ in settlement.dead}
        for i in settlement.delivered:
            self.grants[i] = dataclasses.replace(self.grants[i], status=GrantStatus.DELIVERED)
        for i, _ in settlement.dead:
            self.grants[i] = dataclasses.replace(self.grants[i], status=GrantStatus.DEAD)


class FakeSink:
    """Accepts everything unless told to fail the next calls."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.failures = 0

    async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
        if self.failures:
            self.failures -= 1
            raise LoyaltyUnavailable("loyalty RecordGrants failed: UNAVAILABLE")
        self.received.extend(g.grant.idempotency_key for g in grants)
        return [DeliveryResult(g.grant.idempotency_key, DeliveryOutcome.ACCEPTED) for g in grants]

    async def received_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        return set(self.received)

    async def close(self) -> None:
        pass


async def test_a_batch_is_delivered_then_settled_as_delivered() -> None:
    queue, sink = FakeQueue(3), FakeSink()
    relay = Relay(queue, sink, POLICY)

    assert await relay.run_once() == 3

    assert sink.received == ["k1", "k2", "k3"]
    assert queue.settled == [Settlement(delivered=(1, 2, 3))]
    assert relay.counters.delivered == 3
    assert await relay.run_once() == 0


async def test_a_failed_call_is_retried_and_dead_lettered_after_max_attempts() -> None:
    queue, sink = FakeQueue(1), FakeSink()
    sink.failures = 3
    relay = Relay(queue, sink, POLICY)

    for _ in range(3):
        await relay.run_once()

    assert [len(s.retry) for s in queue.settled] == [1, 1, 0]
    assert queue.settled[-1].dead == ((1, "loyalty RecordGrants failed: UNAVAILABLE"),)
    assert queue.grants[1].status is GrantStatus.DEAD
    assert relay.counters.failed_calls == 3
    assert sink.received == []


async def test_a_store_blip_after_the_acknowledgement_is_retried_without_redelivery() -> None:
    queue, sink = FakeQueue(2), FakeSink()
    queue.settle_failures = 2
    relay = Relay(queue, sink, POLICY)

    await relay.run_once()

    assert queue.settled == [Settlement(delivered=(1, 2))]
    assert sink.received == ["k1", "k2"]


async def test_the_loop_outlives_store_outages_and_stops_when_told() -> None:
    queue, sink = FakeQueue(25), FakeSink()
    queue.claim_failures = 2
    relay = Relay(queue, sink, dataclasses.replace(POLICY, concurrency=2))
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))

    async def all_delivered() -> bool:
        return relay.counters.delivered == 25

    await wait_until(all_delivered, within=10, what="25 deliveries")
    stopping.set()
    await asyncio.wait_for(task, 5)

    assert sorted(sink.received) == sorted(f"k{i}" for i in range(1, 26))


async def test_a_bug_while_delivering_ends_in_dead_letters_not_a_loop() -> None:
    class BrokenSink(FakeSink):
        async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
            raise KeyError("unknown reward kind")

    queue = FakeQueue(1)
    relay = Relay(queue, BrokenSink(), POLICY)

    for _ in range(3):
        await relay.run_once()

    assert queue.grants[1].status is GrantStatus.DEAD
    assert queue.settled[-1].dead == ((1, "internal error: KeyError('unknown reward kind')"),)


def test_a_relay_name_is_unique_per_instance() -> None:
    names = {Relay(FakeQueue(0), FakeSink()).name for _ in range(3)}

    assert len(names) == 3


@pytest.mark.parametrize("failures", [1, 2])
async def test_redelivery_after_a_failed_call_carries_the_same_grant_ids(failures: int) -> None:
    queue, sink = FakeQueue(2), FakeSink()
    sink.failures = failures
    relay = Relay(queue, sink, POLICY)

    for _ in range(failures + 1):
        await relay.run_once()

    assert sink.received == ["k1", "k2"]
    assert all(g.status is GrantStatus.DELIVERED for g in queue.grants.values())
