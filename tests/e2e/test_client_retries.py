"""The typed client against a real server behind a flaky front: safe retries and deadlines."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest

from engagement_client import ClientOptions, EngagementClient, RetryPolicy
from engagement_client.gen.engagement.v1 import (
    definitions_pb2,
    events_pb2,
    grants_pb2,
    rules_admin_pb2,
)
from service.entrypoints.grpc_api.server import RunningServer
from tests.support import auth
from tests.support.flaky_grpc import FlakyFront

pytestmark = pytest.mark.e2e

FAST = RetryPolicy(max_attempts=5, initial_backoff_seconds=0.01, max_backoff_seconds=0.05)


@pytest.fixture
async def front(server: RunningServer) -> AsyncIterator[FlakyFront]:
    flaky = FlakyFront(server.port)
    await flaky.start()
    yield flaky
    await flaky.stop()


def _client(port: int, timeout: float = 10.0, retry: RetryPolicy = FAST) -> EngagementClient:
    options = ClientOptions(
        address=f"127.0.0.1:{port}", token=auth.token(), plaintext=True,
        timeout_seconds=timeout, retry=retry,
    )  # fmt: skip
    return EngagementClient(options)


def _event(key: str) -> events_pb2.TrackEventRequest:
    return events_pb2.TrackEventRequest(
        user_id="ria", type="order.paid", value=5, idempotency_key=key
    )


async def test_a_read_is_retried_through_unavailable(front: FlakyFront) -> None:
    front.faults.refuse["GetGrantStats"] = 2
    async with _client(front.port) as client:
        stats = await client.grants.GetGrantStats(grants_pb2.GetGrantStatsRequest())
    assert stats.pending == 0
    assert front.faults.seen["GetGrantStats"] == 3


async def test_a_keyed_write_whose_answer_was_lost_is_retried_and_applied_once(
    front: FlakyFront,
) -> None:
    front.faults.lose_answer["TrackEvent"] = 1
    async with _client(front.port) as client:
        answer = await client.events.TrackEvent(_event("order-1"))
        batch = events_pb2.TrackEventsRequest(events=[_event("order-2"), _event("order-3")])
        front.faults.lose_answer["TrackEvents"] = 1
        batched = await client.events.TrackEvents(batch)
    assert front.faults.forwarded["TrackEvent"] == 2
    assert answer.effects.duplicate  # the first attempt was applied; the retry changed nothing
    assert [effects.duplicate for effects in batched.effects] == [True, True]


async def test_writes_without_an_idempotency_key_are_never_repeated(front: FlakyFront) -> None:
    task = definitions_pb2.TaskDefinition(
        task_id="t", title="T", event_type="order.paid",
        tiers=[definitions_pb2.TaskTier(target=1)],
    )  # fmt: skip
    upsert = rules_admin_pb2.UpsertDefinitionRequest(
        definition=definitions_pb2.Definition(task=task)
    )
    mixed = events_pb2.TrackEventsRequest(events=[_event("order-9"), _event("")])
    front.faults.refuse.update({"UpsertDefinition": 1, "TrackEvents": 1})
    async with _client(front.port) as client:
        for call in (client.rules_admin.UpsertDefinition(upsert), client.events.TrackEvents(mixed)):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert front.faults.seen["UpsertDefinition"] == 1
    assert front.faults.seen["TrackEvents"] == 1
    assert front.faults.forwarded["UpsertDefinition"] == 0


async def test_the_default_deadline_ends_a_stalled_call(front: FlakyFront) -> None:
    front.faults.stall.add("GetGrantStats")
    started = time.monotonic()
    async with _client(front.port, timeout=0.5) as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.grants.GetGrantStats(grants_pb2.GetGrantStatsRequest())
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 5


async def test_retries_stop_at_the_deadline_and_answer_the_last_status(front: FlakyFront) -> None:
    front.faults.refuse["GetGrantStats"] = 10_000
    patient = RetryPolicy(
        max_attempts=10_000, initial_backoff_seconds=0.01, max_backoff_seconds=0.02
    )
    started = time.monotonic()
    async with _client(front.port, timeout=0.5, retry=patient) as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.grants.GetGrantStats(grants_pb2.GetGrantStatsRequest())
    assert raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert 3 <= front.faults.seen["GetGrantStats"] < 10_000
    assert time.monotonic() - started < 5


async def test_attempts_are_bounded_by_the_policy(front: FlakyFront) -> None:
    front.faults.refuse["GetGrantStats"] = 10
    async with _client(front.port, retry=RetryPolicy(3, 0.01, 0.01)) as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.grants.GetGrantStats(grants_pb2.GetGrantStatsRequest())
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert front.faults.seen["GetGrantStats"] == 3
