"""The composition of live feedback: the feeds' publisher and their dedicated reader."""

from __future__ import annotations

import redis.asyncio as redis

from service.adapters.live_feed import RedisClient, RedisFeed, RedisFeedReader
from service.app.live.watch import Live, LiveSettings, Watchers
from service.entrypoints.grpc_api.live.convert import encode_update
from service.settings import Settings

# Connections beyond one per stream: rank checks and feed states between blocking reads.
_SPARE_CONNECTIONS = 8


def build_feed(settings: Settings, client: RedisClient) -> RedisFeed:
    """Publishes on the service's client: one script call per user, after commits."""
    return RedisFeed(
        client, settings.redis_key_prefix, encode_update,
        retention_seconds=settings.live_retention_seconds,
        max_length=settings.live_max_length,
        timeout_seconds=settings.redis_timeout_seconds,
    )  # fmt: skip


def _reader_client(settings: Settings) -> RedisClient:
    """A client of its own: each stream's blocking XREAD holds a connection for up to the
    longer of the heartbeat and rank intervals, which must neither wait for the service's
    pool nor starve it. Sized for every stream the process may serve."""
    size = settings.live_max_streams + _SPARE_CONNECTIONS
    block = max(settings.live_heartbeat_seconds, settings.live_rank_interval_seconds)
    timeout = settings.redis_timeout_seconds
    if settings.redis_cluster:
        return redis.RedisCluster.from_url(
            settings.redis_url, max_connections=size, socket_timeout=block + timeout,
            socket_connect_timeout=timeout,
        )  # fmt: skip
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=size, timeout=timeout,
        socket_timeout=block + timeout, socket_connect_timeout=timeout,
    )  # fmt: skip
    return redis.Redis(connection_pool=pool)


def build_live(settings: Settings) -> Live:
    reader = RedisFeedReader(_reader_client(settings), settings.redis_key_prefix)
    live_settings = LiveSettings(
        heartbeat_seconds=settings.live_heartbeat_seconds,
        rank_interval_seconds=settings.live_rank_interval_seconds,
        max_streams_per_user=settings.live_max_streams_per_user,
        max_streams=settings.live_max_streams,
    )
    watchers = Watchers(settings.live_max_streams_per_user, settings.live_max_streams)
    return Live(reader, watchers, live_settings, reader.aclose)
