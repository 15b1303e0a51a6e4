"""WatchUser on a real 3-master Redis Cluster: feeds of users in different slots, ranks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import build_app
from service.entrypoints.grpc_api.server import start_server
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.settings import Settings
from tests.e2e.test_live_api import _kinds, _opened, _order, _order_task, _take, _watch
from tests.support import auth
from tests.support import redis_cluster as cluster_support
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e
redis_cluster = cluster_support.redis_cluster
USERS = ("ana", "bob", "cy", "dee")


@pytest.fixture
async def channel(
    settings: Settings,
    redis_cluster: cluster_support.ClusterNodes,
    engine: AsyncEngine,
    clock: MovableClock,
) -> AsyncIterator[grpc.aio.Channel]:
    url = f"redis://{redis_cluster.host}:{redis_cluster.ports[0]}"
    cluster = Settings.model_validate(
        {**settings.model_dump(), "redis_url": url, "redis_cluster": True,
         "live_rank_interval_seconds": 0.05}
    )  # fmt: skip
    app = build_app(cluster, clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as channel:
            yield channel
    finally:
        await running.stop(0)
        await app.close()


async def test_a_batch_for_users_in_many_slots_reaches_each_feed(
    channel: grpc.aio.Channel,
) -> None:
    await admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=_order_task())
    )
    watching = {user: _watch(channel, user) for user in USERS}
    for call in watching.values():
        await _opened(call)
    batch = [_order(user, f"{user}-{n}") for user in USERS for n in (1, 2)]
    await events_grpc.EventServiceStub(channel).TrackEvents(
        events_pb.TrackEventsRequest(events=batch)
    )
    for user, call in watching.items():
        got = await _take(call, 4)
        assert _kinds(got) == ["task_progress", "task_progress", "task_completed", "grant_decided"]
        assert got[3].grant_decided.user_id == user
        call.cancel()


async def test_rank_changes_on_a_cluster(channel: grpc.aio.Channel) -> None:
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(
            board=board_pb.Board(
                board_id="all", title="All", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
                aggregation=board_pb.AGGREGATION_MAX, tie_policy=board_pb.TIE_POLICY_DENSE,
                period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
            )
        )
    )  # fmt: skip
    watching = _watch(channel, "ana", boards=[board_pb.BoardRef(board_id="all")])
    assert (await _take(watching, 1))[0].rank_changed.rank == 0
    scores = board_grpc.LeaderboardServiceStub(channel)
    for member, value, rank in (("ana", 5, 1), ("bob", 9, 2)):
        await scores.SubmitScore(
            board_pb.SubmitScoreRequest(
                board_id="all", member_id=member, value=value, idempotency_key=member
            )
        )
        assert (await _take(watching, 1))[0].rank_changed.rank == rank
    watching.cancel()
