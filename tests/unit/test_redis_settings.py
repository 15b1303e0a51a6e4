"""The Redis settings: a cluster is named by one node's redis:// or rediss:// URL."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from service.bootstrap import build_pubsub, build_redis
from service.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_DATABASE_URL", "postgresql://h/d")


def test_a_cluster_needs_a_node_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", "unix:///tmp/redis.sock")
    monkeypatch.setenv("ENGAGEMENT_REDIS_CLUSTER", "true")
    with pytest.raises(SettingsError) as raised:
        load_settings(Settings)
    assert str(raised.value).startswith("ENGAGEMENT_REDIS_CLUSTER: Value error, a Redis Cluster")


async def test_the_cluster_setting_picks_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGEMENT_REDIS_URL", "redis://127.0.0.1:7000")
    single = load_settings(Settings)
    monkeypatch.setenv("ENGAGEMENT_REDIS_CLUSTER", "true")
    cluster = load_settings(Settings)
    assert not single.redis_cluster
    # Nothing connects here: clients connect on first use.
    plain = build_redis(single.redis_url, single, cluster=single.redis_cluster)
    clustered = build_redis(cluster.redis_url, cluster, cluster=cluster.redis_cluster)
    try:
        assert isinstance(plain, redis.Redis)
        assert isinstance(clustered, redis.RedisCluster)
        assert build_pubsub(plain, single) is plain
        pubsub = build_pubsub(clustered, cluster)
        assert isinstance(pubsub, redis.Redis)
        assert pubsub.connection_pool.connection_kwargs["port"] == 7000
        await pubsub.aclose()
    finally:
        await plain.aclose()
        await clustered.aclose()
