"""Both loyalty sinks against real servers: the stub over gRPC, and a Redis stream."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import grpc
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.loyalty.grpc_sink import GrpcLoyaltySink
from service.adapters.loyalty.redis_stream_sink import RedisStreamSink
from service.adapters.outbox.queue import PostgresOutboxQueue
from service.adapters.outbox.relay import Relay, RelayPolicy
from service.app.grants.ports import LoyaltyCannotList, LoyaltyUnavailable
from service.domain.grant_delivery import DeliveryOutcome, DeliveryResult, GrantStatus, OutboxGrant
from service.domain.rewards import Grant, Reward, RewardKind
from service.gen.loyalty.v1 import loyalty_pb2 as loyalty_pb
from service.gen.loyalty.v1 import loyalty_pb2_grpc
from service.loyalty_stub.faults import Faults
from service.loyalty_stub.server import RunningStub, start_stub
from service.redis_keys import seen_key
from tests.support.grants import FAST_BACKOFF, make_grant, queue_grants, status_counts

pytestmark = pytest.mark.integration

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def _outbox(grant: Grant, minute: int = 0) -> OutboxGrant:
    return OutboxGrant(1, grant, GrantStatus.PENDING, 1, AT + dt.timedelta(minutes=minute))


def _outcomes(results: Sequence[DeliveryResult]) -> list[DeliveryOutcome]:
    return [r.outcome for r in results]


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub()
    yield running
    await running.stop(0)


@pytest.fixture
async def grpc_sink(stub: RunningStub) -> AsyncIterator[GrpcLoyaltySink]:
    sink = GrpcLoyaltySink(stub.address, timeout_seconds=0.5)
    yield sink
    await sink.close()


async def test_grpc_sink_answers_accepted_then_duplicate_and_rejects_malformed(
    grpc_sink: GrpcLoyaltySink, stub: RunningStub
) -> None:
    good = [_outbox(make_grant("a", n)) for n in range(2)]
    malformed = _outbox(Grant("bad", "a", Reward(RewardKind.ITEM, 1, ""), "r", "t", "c", 1))

    first = await grpc_sink.deliver(good)
    again = await grpc_sink.deliver([*good, malformed])

    assert _outcomes(first) == [DeliveryOutcome.ACCEPTED] * 2
    assert _outcomes(again) == [DeliveryOutcome.DUPLICATE] * 2 + [DeliveryOutcome.REJECTED]
    assert "item_code" in again[2].reason
    assert stub.ledger.effects == ["test:a:000000", "test:a:000001"]
    received = stub.ledger.grants["test:a:000000"].grant
    assert (received.user_id, received.amount, received.reason) == ("a", 1, "test grant 0")
    assert received.occurred_at.ToDatetime(tzinfo=dt.UTC) == AT


async def test_grpc_sink_failures_and_deadlines_are_unavailable(
    grpc_sink: GrpcLoyaltySink, stub: RunningStub
) -> None:
    stub.injector.faults = Faults(failure_rate=1.0)
    with pytest.raises(LoyaltyUnavailable, match="UNAVAILABLE"):
        await grpc_sink.deliver([_outbox(make_grant("a", 0))])

    stub.injector.faults = Faults(delay_seconds=5)
    with pytest.raises(LoyaltyUnavailable, match="DEADLINE_EXCEEDED"):
        await grpc_sink.deliver([_outbox(make_grant("a", 1))])


async def test_grpc_sink_to_nothing_listening_is_unavailable(stub: RunningStub) -> None:
    await stub.stop(0)
    sink = GrpcLoyaltySink(stub.address, timeout_seconds=0.5)
    try:
        with pytest.raises(LoyaltyUnavailable):
            await sink.deliver([_outbox(make_grant("a", 0))])
    finally:
        await sink.close()


async def test_grpc_sink_lists_a_range_across_pages(grpc_sink: GrpcLoyaltySink) -> None:
    grants = [_outbox(make_grant(f"u{n % 7}", n), minute=n % 3) for n in range(1500)]
    for start in range(0, 1500, 500):
        await grpc_sink.deliver(grants[start : start + 500])

    ids = await grpc_sink.received_ids(AT, AT + dt.timedelta(minutes=2), limit=10_000)

    assert ids == {
        g.grant.idempotency_key for g in grants if g.created_at < AT + dt.timedelta(minutes=2)
    }
    assert len(ids) == 1000


async def test_a_loyalty_system_without_listing_cannot_reconcile() -> None:
    server = grpc.aio.server()
    # The generated base servicer answers UNIMPLEMENTED to every RPC.
    base = loyalty_pb2_grpc.LoyaltyServiceServicer()  # type: ignore[abstract]
    loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server(base, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sink = GrpcLoyaltySink(f"127.0.0.1:{port}", timeout_seconds=1)
    try:
        with pytest.raises(LoyaltyCannotList):
            await sink.received_ids(AT, AT + dt.timedelta(hours=1), limit=10)
    finally:
        await sink.close()
        await server.stop(0)


Entries = list[tuple[bytes, dict[bytes, bytes]]]


async def _entries(client: redis.Redis, stream: str) -> Entries:
    return cast(Entries, await client.xrange(stream))


@pytest.fixture
async def stream_sink(redis_client: redis.Redis) -> AsyncIterator[RedisStreamSink]:
    stream = f"test-{uuid.uuid4().hex[:8]}:loyalty-grants"
    yield RedisStreamSink(redis_client, stream, timeout_seconds=2, dedup_seconds=60)
    await redis_client.delete(stream, seen_key(stream))


async def test_stream_sink_adds_the_contract_fields_once_per_grant_id(
    stream_sink: RedisStreamSink, redis_client: redis.Redis
) -> None:
    stream = stream_sink.stream
    grants = [_outbox(make_grant("a", 0)), _outbox(make_grant("a", 1, RewardKind.COUPON))]

    first = await stream_sink.deliver(grants)
    again = await stream_sink.deliver(grants)

    assert _outcomes(first) == [DeliveryOutcome.ACCEPTED] * 2
    assert _outcomes(again) == [DeliveryOutcome.DUPLICATE] * 2
    entries = await _entries(redis_client, stream)
    assert [fields[b"grant_id"] for _, fields in entries] == [b"test:a:000000", b"test:a:000001"]
    assert entries[1][1] == {
        b"grant_id": b"test:a:000001", b"user_id": b"a", b"kind": b"coupon", b"amount": b"2",
        b"item_code": b"chest", b"reason": b"test grant 1", b"cause_ref": b"test:a:1",
        b"occurred_at": b"2026-03-10T12:00:00+00:00", b"expires_at": b"",
    }  # fmt: skip


async def test_a_consumer_group_reads_grants_in_delivery_order(
    stream_sink: RedisStreamSink, redis_client: redis.Redis
) -> None:
    stream = stream_sink.stream
    await redis_client.xgroup_create(stream, "loyalty", id="0", mkstream=True)
    await stream_sink.deliver([_outbox(make_grant("a", n)) for n in range(5)])

    read: Any = await redis_client.xreadgroup("loyalty", "consumer-1", {stream: ">"}, count=10)

    ids = [fields[b"grant_id"].decode() for _, fields in read[0][1]]
    assert ids == [f"test:a:{n:06d}" for n in range(5)]


async def test_stream_sink_lists_grants_by_occurrence(stream_sink: RedisStreamSink) -> None:
    await stream_sink.deliver([_outbox(make_grant("a", n), minute=n) for n in range(4)])

    ids = await stream_sink.received_ids(
        AT + dt.timedelta(minutes=1), AT + dt.timedelta(minutes=3), limit=100
    )

    assert ids == {"test:a:000001", "test:a:000002"}


async def test_stream_sink_on_an_unreachable_redis_is_unavailable() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)
    sink = RedisStreamSink(client, "grants", timeout_seconds=1, owns_client=True)
    try:
        with pytest.raises(LoyaltyUnavailable):
            await sink.deliver([_outbox(make_grant("a", 0))])
    finally:
        await sink.close()


def test_the_dedup_set_shares_the_streams_cluster_slot() -> None:
    assert seen_key("loyalty:grants") == "{loyalty:grants}:seen"
    assert seen_key("{loyalty}:grants") == "{loyalty}:grants:seen"
    assert seen_key("odd{}name") == "{odd{}name}:seen"


async def test_a_relay_delivers_the_outbox_to_a_stream(
    engine: AsyncEngine, stream_sink: RedisStreamSink, redis_client: redis.Redis
) -> None:
    await queue_grants(engine, [make_grant(f"u{u}", n) for n in range(5) for u in range(4)])
    relay = Relay(
        PostgresOutboxQueue(engine),
        stream_sink,
        RelayPolicy(batch_size=7, lease_seconds=5, backoff=FAST_BACKOFF),
    )

    while await relay.run_once():
        pass

    assert await status_counts(engine) == {"delivered": 20}
    entries = await _entries(redis_client, stream_sink.stream)
    by_user: dict[bytes, list[bytes]] = {}
    for _, fields in entries:
        by_user.setdefault(fields[b"user_id"], []).append(fields[b"grant_id"])
    assert len(entries) == 20
    assert all(ids == sorted(ids) for ids in by_user.values())


async def test_stub_refuses_a_timestamp_out_of_range_naming_the_field(stub: RunningStub) -> None:
    async with grpc.aio.insecure_channel(stub.address) as channel:
        request = loyalty_pb.ListGrantsRequest()
        request.occurred_after.seconds = 253402300800  # the year 10000
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await loyalty_pb2_grpc.LoyaltyServiceStub(channel).ListGrants(request)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "occurred_after: must be a valid timestamp (years 1 to 9999)"
