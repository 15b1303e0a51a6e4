"""Token buckets on a real Redis and on a real 3-master Redis Cluster."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.asyncio as redis
from redis.asyncio import RedisCluster
from redis.crc import key_slot

from service.adapters.rate_limits import Rate, RateLimits, Refusal
from service.redis_keys import rate_limit_key
from tests.support import redis_cluster as cluster_support
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration
redis_cluster = cluster_support.redis_cluster

T0 = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def test_keys_keep_their_hash_tag_whatever_the_identity() -> None:
    assert "alice" not in rate_limit_key("eng", "user", "alice")  # no user id in a key
    for hostile in ("}{", "a{b}c", "x" * 65, "é", ""):
        key = rate_limit_key("eng", "user", hostile)
        assert key.count("{") == 1
        assert key.count("}") == 1
        assert len(key) < 64
    assert rate_limit_key("eng", "user", "a{b") != rate_limit_key("eng", "user", "a{c")
    # A player acting for itself: both buckets in one slot.
    user, credential = (rate_limit_key("eng", kind, "alice") for kind in ("user", "credential"))
    assert key_slot(user.encode()) == key_slot(credential.encode())


async def test_a_refused_call_takes_from_neither_bucket_and_a_clock_going_back_takes_nothing(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    clock = MovableClock(T0)
    limits = RateLimits(redis_client, redis_prefix, clock, user=Rate(1, 1), credential=Rate(10, 2))
    assert await limits.check("alice", "svc") is None
    assert await limits.check("alice", "svc") == Refusal("user", 1.0)
    assert await limits.check("bob", "svc") is None  # the refusal took no credential token
    assert await limits.check("cy", "svc") == Refusal("credential", 0.1)
    clock.advance(seconds=-30)
    assert await limits.check("dan", "svc") == Refusal("credential", 0.1)
    clock.advance(seconds=30.1)
    assert await limits.check("dan", "svc") is None
    ttl = await redis_client.pttl(rate_limit_key(redis_prefix, "user", "alice"))
    assert 0 < ttl <= 2000  # a full bucket is no key at all


async def test_buckets_in_different_slots_of_a_cluster(
    redis_cluster: cluster_support.ClusterNodes,
) -> None:
    client = RedisCluster(host=redis_cluster.host, port=redis_cluster.ports[0])
    try:
        clock = MovableClock(T0)
        limits = RateLimits(client, "eng", clock, user=Rate(1, 2), credential=Rate(1, 3))
        slots = {key_slot(rate_limit_key("eng", k, i).encode()) for k, i in
                 (("user", "alice"), ("credential", "svc"))}  # fmt: skip
        assert len(slots) == 2
        assert await limits.check("alice", "svc") is None
        assert await limits.check("alice", "svc") is None
        assert await limits.check("alice", "svc") == Refusal("user", 1.0)
        # Checked apart, the refused call took the credential's last token.
        assert await limits.check("bob", "svc") == Refusal("credential", 1.0)
        # One slot: the player's own buckets go in one call.
        assert await limits.check("cy", "cy") is None
        clock.advance(seconds=1)
        assert await limits.check("bob", "svc") is None
    finally:
        await client.aclose()
