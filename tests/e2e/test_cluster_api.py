"""The whole service on a real 3-master Redis Cluster that the test starts from redis-server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.loyalty.redis_stream_sink import RedisStreamSink
from service.app.boards.mapping import redis_board
from service.app.boards.ports import BoardKey
from service.bootstrap import App, build_app, build_loyalty_sink, build_redis
from service.domain.grant_delivery import DeliveryOutcome, GrantStatus, OutboxGrant
from service.entrypoints.board_upkeep import heal_boards, start_board_upkeep
from service.entrypoints.grpc_api.server import start_server, stores_answer
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.support import auth
from tests.support import redis_cluster as cluster_support
from tests.support.clock import MovableClock
from tests.support.grants import make_grant
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
redis_cluster = cluster_support.redis_cluster

REGIONS = ("eu", "us", "apac", "latam", "mena", "nordics")
BOARD = pb.Board(
    board_id="spend",
    title="Spend",
    sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
    aggregation=pb.AGGREGATION_SUM,
    tie_policy=pb.TIE_POLICY_DENSE,
    period=pb.Period(kind=pb.PERIOD_KIND_WEEKLY, week_start=1),
    timezone="Europe/Berlin",
    retention_periods=1,
    rookie_days=7,
    partition_attribute="region",
)


@pytest.fixture
def cluster_settings(settings: Settings, redis_cluster: cluster_support.ClusterNodes) -> Settings:
    url = f"redis://{redis_cluster.host}:{redis_cluster.ports[0]}"
    return Settings.model_validate(
        {**settings.model_dump(), "redis_url": url, "redis_cluster": True}
    )


@pytest.fixture
async def apps(
    cluster_settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> AsyncIterator[tuple[App, App]]:
    """Two replicas on the cluster: the first serves calls, the second runs the upkeep."""
    first, second = build_app(cluster_settings, clock), build_app(cluster_settings, clock)
    yield first, second
    await first.close()
    await second.close()


async def flush_all(nodes: cluster_support.ClusterNodes) -> None:
    for port in nodes.ports:
        node = redis.Redis(host=nodes.host, port=port)
        try:
            await node.flushall()
        finally:
            await node.aclose()


async def standings(stub: pb_grpc.LeaderboardServiceAsyncStub) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for region in REGIONS:
        for rookie in (False, True):
            ref = pb.BoardRef(board_id="spend", partition=region, rookie=rookie)
            page = await stub.GetLeaderboard(pb.GetLeaderboardRequest(board=ref))
            found[f"{region}{'/rookie' * rookie}"] = [
                (e.member_id, e.score, e.rank) for e in page.entries
            ]
    return found


async def _score(stub: pb_grpc.LeaderboardServiceAsyncStub) -> None:
    for n, region in enumerate(REGIONS):
        for member, value in (("whale", 18_000 + n), ("ann", 50), ("bob", 50), (f"m{n}", 1)):
            await stub.SubmitScore(
                pb.SubmitScoreRequest(
                    board_id="spend", member_id=member, value=value, partition=region,
                    idempotency_key=f"{region}-{member}",
                )
            )  # fmt: skip


async def test_the_service_works_and_heals_on_a_redis_cluster(
    apps: tuple[App, App], redis_cluster: cluster_support.ClusterNodes
) -> None:
    serving, other = apps
    assert isinstance(serving.redis, redis.RedisCluster)
    assert await stores_answer(serving)
    server = await start_server(serving, "127.0.0.1:0")
    upkeep = start_board_upkeep(other)
    try:
        await asyncio.wait_for(upkeep.following.wait(), 10)
        async with auth.channel(server.port) as channel:
            await _exercise(channel, serving, other, redis_cluster)
    finally:
        await upkeep.stop()
        await server.stop(0)


async def _exercise(
    channel: grpc.aio.Channel, serving: App, other: App, nodes: cluster_support.ClusterNodes
) -> None:
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    stub = pb_grpc.LeaderboardServiceStub(channel)
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=BOARD))
    await _score(stub)
    before = await standings(stub)
    assert before["eu"] == [("whale", 18_000, 1), ("ann", 50, 2), ("bob", 50, 2), ("m0", 1, 3)]
    await _boards_span_masters(serving)

    # A definition change reaches the other replica through pub/sub on one node.
    renamed = pb.Board()
    renamed.CopyFrom(BOARD)
    renamed.title = "Spending"
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=renamed))

    async def renamed_there() -> bool:
        return (await other.boards.catalog.get("spend")).title == "Spending"

    await wait_until(renamed_there, what="the rename to reach the other replica")

    # Reads after a FLUSHALL heal the board-periods they touch...
    await flush_all(nodes)
    assert await standings(stub) == before
    # ...and the upkeep heals the rest without anyone reading.
    await flush_all(nodes)
    keys = await _keys(serving)

    async def healed() -> bool:
        board = await serving.boards.catalog.get("spend")
        copies = [redis_board(serving.boards.redis, board, key) for key in keys]
        return all(await serving.boards.redis.loaded(copies))

    await wait_until(healed, what="the upkeep to heal every board-period on the cluster")
    assert await standings(stub) == before
    assert await heal_boards(serving) == 0


async def _keys(app: App) -> list[BoardKey]:
    async with app.uow() as uow:
        return await uow.scores.kept_keys("spend", app.clock.now().replace(year=2000))


async def _boards_span_masters(app: App) -> None:
    """The partitions' board-periods live on more than one master, so the test means it."""
    client = app.redis
    assert isinstance(client, redis.RedisCluster)
    keys = await _keys(app)
    board = await app.boards.catalog.get("spend")
    nodes = {
        client.get_node_from_key(redis_board(app.boards.redis, board, key).keys.tag) for key in keys
    }
    assert None not in nodes
    assert len(keys) == 2 * len(REGIONS)
    assert len(nodes) > 1


async def test_the_loyalty_stream_works_on_the_cluster(cluster_settings: Settings) -> None:
    settings = cluster_settings.model_copy(
        update={"loyalty_sink": "redis_stream", "loyalty_stream": "{loyalty}:grants"}
    )
    client = build_redis(settings.redis_url, settings, cluster=True)
    sink = build_loyalty_sink(settings, client)
    assert isinstance(sink, RedisStreamSink)
    at = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    grants = [OutboxGrant(1, make_grant("a", n), GrantStatus.PENDING, 1, at) for n in range(2)]
    try:
        first = await sink.deliver(grants)
        again = await sink.deliver(grants)
        received = await sink.received_ids(at, at + dt.timedelta(hours=1), 10)
    finally:
        await client.aclose()
    assert [r.outcome for r in first] == [DeliveryOutcome.ACCEPTED] * 2
    assert [r.outcome for r in again] == [DeliveryOutcome.DUPLICATE] * 2
    assert received == {"test:a:000000", "test:a:000001"}
