"""`client.watch_user` on real servers: authenticated streams, resuming across a server restart
and a dropped connection with every update once, cancellation, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import grpc
import pytest
import redis.asyncio as redis

from engagement_client import ClientOptions, EngagementClient, RetryPolicy, Watching
from engagement_client.gen.engagement.v1 import live_pb2
from service.bootstrap import App, build_app
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.redis_keys import live_feed_key
from service.settings import Settings
from tests.e2e.test_live_api import _order, _order_task
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.proxy import CuttableProxy
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 20.0
FAST = RetryPolicy(max_attempts=5, initial_backoff_seconds=0.02, max_backoff_seconds=0.2)
_NOT_FEED = ("heartbeat", "gap", "rank_changed")


def _client(port: int, user: str | None, token: str | None = None) -> EngagementClient:
    """A client acting as player `user` (no token when both are None)."""
    credential = token if token is not None else (auth.token(user, "player") if user else "")
    options = ClientOptions(
        address=f"127.0.0.1:{port}", token=credential, plaintext=True, retry=FAST
    )
    return EngagementClient(options)


async def _read(watching: Watching, feed_count: int) -> list[live_pb2.LiveUpdate]:
    """Every update up to and including the `feed_count`-th one from the feed."""
    got: list[live_pb2.LiveUpdate] = []
    async with asyncio.timeout(READ_TIMEOUT):
        while sum(u.WhichOneof("kind") not in _NOT_FEED for u in got) < feed_count:
            got.append(await anext(watching))
    return got


async def _opened(watching: Watching) -> list[live_pb2.LiveUpdate]:
    """The stream's first update: the heartbeat that says it is open."""
    async with asyncio.timeout(READ_TIMEOUT):
        first = await anext(watching)
    assert first.HasField("heartbeat")
    return [first]


def _feed_ids(updates: list[live_pb2.LiveUpdate]) -> list[str]:
    return [u.id for u in updates if u.WhichOneof("kind") not in _NOT_FEED]


async def _stored_ids(redis_client: redis.Redis, settings: Settings, user: str) -> list[str]:
    """What the user's feed in Redis holds: the truth the watch must have delivered."""
    key = live_feed_key(settings.redis_key_prefix, user)
    entries = cast(list[tuple[bytes, Any]], await redis_client.xrange(key))
    return [entry_id.decode() for entry_id, _ in entries]


@asynccontextmanager
async def _replica(
    settings: Settings, clock: MovableClock, address: str = "127.0.0.1:0"
) -> AsyncIterator[tuple[App, RunningServer]]:
    app = build_app(settings, clock=clock)
    running = await start_server(app, address)
    try:
        yield app, running
    finally:
        await running.stop(0)
        await app.close()


async def _define(port: int) -> None:
    """The order task (two orders: progress, progress, completion, grant) and a board."""
    async with auth.channel(port) as channel:
        await admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
            admin_pb.UpsertDefinitionRequest(definition=_order_task())
        )
        await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
            board_pb.UpsertBoardRequest(
                board=board_pb.Board(
                    board_id="all", title="All", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
                    aggregation=board_pb.AGGREGATION_MAX, tie_policy=board_pb.TIE_POLICY_DENSE,
                    period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
                )
            )
        )  # fmt: skip


async def _orders(port: int, user: str, *keys: str) -> None:
    async with auth.channel(port) as channel:
        events = events_grpc.EventServiceStub(channel)
        for key in keys:
            await events.TrackEvent(_order(user, key))


@pytest.mark.usefixtures("engine")  # emptied tables for the apps built here
async def test_the_watch_resumes_on_a_new_server_at_the_same_address_with_every_update_once(
    settings: Settings, clock: MovableClock, redis_client: redis.Redis
) -> None:
    async with _replica(settings, clock) as (_, sender):
        await _define(sender.port)
        async with _replica(settings, clock) as (_, first):
            port = first.port
            client = _client(port, "ana")
            async with client, client.watch_user("ana", boards=["all"]) as watching:
                seen = await _opened(watching)
                await _orders(sender.port, "ana", "o1", "o2")
                seen += await _read(watching, 4)
                await first.stop(0)
                # Read on while the address is dark: the watch reconnects until it is back.
                rest = asyncio.create_task(_read(watching, 8))
                await _orders(sender.port, "ana", "o3", "o4")
                async with _replica(settings, clock, f"127.0.0.1:{port}"):
                    await _orders(sender.port, "ana", "o5", "o6")
                    seen += await rest
    delivered = _feed_ids(seen)
    assert delivered == await _stored_ids(redis_client, settings, "ana")
    assert len(delivered) == len(set(delivered)) == 12
    kinds = [u.WhichOneof("kind") for u in seen if u.WhichOneof("kind") not in _NOT_FEED]
    assert kinds == ["task_progress", "task_progress", "task_completed", "grant_decided"] * 3
    # The new server sends the rank again at its start; it had not changed.
    assert [u.rank_changed.rank for u in seen if u.HasField("rank_changed")] == [0]


async def test_the_watch_resumes_after_its_connection_drops(
    server: RunningServer, settings: Settings, redis_client: redis.Redis
) -> None:
    await _define(server.port)
    proxy = CuttableProxy(f"tcp://127.0.0.1:{server.port}")
    await proxy.start()
    try:
        client = _client(proxy.port, "bob")
        async with client, client.watch_user("bob") as watching:
            seen = await _opened(watching)
            await _orders(server.port, "bob", "b1")
            seen += await _read(watching, 1)
            proxy.disconnect()  # and refuse connections until restored
            rest = asyncio.create_task(_read(watching, 3))
            await _orders(server.port, "bob", "b2")
            proxy.restore()
            seen += await rest
    finally:
        await proxy.close()
    delivered = _feed_ids(seen)
    assert delivered == await _stored_ids(redis_client, settings, "bob")
    assert len(delivered) == len(set(delivered)) == 4


async def test_the_watch_resumes_from_a_position_given(
    server: RunningServer, settings: Settings, redis_client: redis.Redis
) -> None:
    await _define(server.port)
    await _orders(server.port, "cy", "c1", "c2")
    first, *later = await _stored_ids(redis_client, settings, "cy")
    client = _client(server.port, "cy")
    async with client, client.watch_user("cy", after=first) as watching:
        assert _feed_ids(await _read(watching, 3)) == later
        assert watching.position == later[-1]


async def test_cancelling_the_consumer_closes_the_stream(app: App, server: RunningServer) -> None:
    client = _client(server.port, "dee")

    async def consume() -> None:
        async for _ in client.watch_user("dee"):
            pass

    async with client:
        consumer = asyncio.create_task(consume())

        async def watching(count: int) -> bool:
            return app.live.watchers.open == count

        await wait_until(lambda: watching(1), what="the stream open")
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        await wait_until(lambda: watching(0), what="the stream closed")


async def test_a_raw_stream_through_the_client_carries_the_token(server: RunningServer) -> None:
    async with _client(server.port, "eve") as client:
        call = client.live.WatchUser(live_pb2.WatchUserRequest(user_id="eve"))
        first = await call.read()
        assert isinstance(first, live_pb2.WatchUserResponse)
        assert first.update.HasField("heartbeat")
        call.cancel()


async def _refusal(client: EngagementClient, user: str, after: str = "") -> grpc.StatusCode:
    async with client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async with asyncio.timeout(READ_TIMEOUT):
                await anext(client.watch_user(user, after=after))
    return raised.value.code()


async def test_refusals_end_the_watch_at_once(server: RunningServer) -> None:
    port = server.port
    assert await _refusal(_client(port, None), "fay") == grpc.StatusCode.UNAUTHENTICATED
    forged = auth.raw_token({"sub": "fay", "scope": "player", "exp": 4_000_000_000}, key="x" * 64)
    assert await _refusal(_client(port, None, forged), "fay") == grpc.StatusCode.UNAUTHENTICATED
    assert await _refusal(_client(port, "gus"), "fay") == grpc.StatusCode.PERMISSION_DENIED
    assert await _refusal(_client(port, "fay"), "fay", "not-an-id") == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
