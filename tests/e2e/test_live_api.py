"""WatchUser through the generated stubs: updates from another replica, resuming, gaps,
heartbeats, rank changes, limits and cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest
import redis.asyncio as redis

from service.adapters.live_feed import RedisFeedReader
from service.bootstrap import App, build_app
from service.entrypoints.grpc_api.auth import AUTHORIZATION
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import live_pb2 as pb
from service.gen.engagement.v1 import live_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import privacy_pb2 as privacy_pb
from service.gen.engagement.v1 import privacy_pb2_grpc as privacy_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.redis_keys import live_feed_key, live_meta_key
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.REWARD_KIND_POINTS
READ_TIMEOUT = 10.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Heartbeats rarely get in the way; tests of them shorten the interval further.
    return settings.model_copy(
        update={"live_heartbeat_seconds": 5.0, "live_rank_interval_seconds": 0.05}
    )


def _player(user: str) -> tuple[tuple[str, str], ...]:
    return ((AUTHORIZATION, f"Bearer {auth.token(user, 'player')}"),)


def _order_task() -> defs.Definition:
    """Every two orders complete the task for 50 points."""
    return defs.Definition(
        task=defs.TaskDefinition(
            task_id="orders", title="Two orders", event_type="order.paid", repeatable=True,
            tiers=[defs.TaskTier(target=2, rewards=[rewards_pb2.Reward(kind=POINTS, amount=50)])],
        )
    )  # fmt: skip


def _order(user: str, key: str) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(user_id=user, type="order.paid", idempotency_key=key)


def _watch(channel: grpc.aio.Channel, user: str, **fields: Any) -> Any:
    stub = pb_grpc.LiveServiceStub(channel)
    return stub.WatchUser(pb.WatchUserRequest(user_id=user, **fields), metadata=_player(user))


async def _take(call: Any, count: int, *, skip: Sequence[str] = ("heartbeat",)) -> list[Any]:
    """The next `count` updates of the stream whose kind is not in `skip`."""
    found: list[Any] = []
    async with asyncio.timeout(READ_TIMEOUT):
        while len(found) < count:
            response = await call.read()
            assert response is not grpc.aio.EOF, "the stream ended"  # type: ignore[attr-defined]
            if response.update.WhichOneof("kind") not in skip:
                found.append(response.update)
    return found


def _kinds(updates: Sequence[Any]) -> list[str]:
    return [u.WhichOneof("kind") for u in updates]


async def _opened(call: Any) -> str:
    """Wait for the stream's first heartbeat: it is open; the position it starts from."""
    first = (await _take(call, 1, skip=()))[0]
    assert first.WhichOneof("kind") == "heartbeat"
    return str(first.id)


@pytest.fixture
async def other_replica(
    settings: Settings, clock: MovableClock, server: RunningServer
) -> AsyncIterator[grpc.aio.Channel]:
    """A second replica on the same Postgres and Redis, and a channel to it."""
    app = build_app(settings, clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as channel:
            yield channel
    finally:
        await running.stop(0)
        await app.close()


async def test_updates_of_an_event_on_another_replica_arrive_and_resume_without_loss(
    channel: grpc.aio.Channel, other_replica: grpc.aio.Channel
) -> None:
    await admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=_order_task())
    )
    sender = events_grpc.EventServiceStub(other_replica)
    watching = _watch(channel, "ana")
    await _opened(watching)

    await sender.TrackEvent(_order("ana", "o1"))
    first = await _take(watching, 1)
    assert _kinds(first) == ["task_progress"]
    assert (first[0].task_progress.task_id, first[0].task_progress.progress) == ("orders", 1)
    watching.cancel()  # the connection drops

    await sender.TrackEvent(_order("ana", "o2"))
    await sender.TrackEvent(_order("ana", "o1"))  # a retry: nothing new
    await sender.TrackEvent(_order("bob", "b1"))  # another user's
    resumed = _watch(channel, "ana", after_id=first[0].id)
    missed = await _take(resumed, 3)
    assert _kinds(missed) == ["task_progress", "task_completed", "grant_decided"]
    assert missed[1].task_completed.tier == 1
    assert missed[2].grant_decided.reward.amount == 50
    assert len({first[0].id, *(u.id for u in missed)}) == 4

    await sender.TrackEvent(_order("ana", "o3"))
    (live,) = await _take(resumed, 1)
    assert (live.task_progress.progress, live.id > missed[-1].id) == (1, True)
    resumed.cancel()


async def test_check_ins_reach_the_feed(channel: grpc.aio.Channel, clock: MovableClock) -> None:
    watching = _watch(channel, "cleo")
    await _opened(watching)
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="cleo", timezone="Europe/Berlin")
    )
    (update,) = await _take(watching, 1)
    assert update.checked_in.streak == 1
    assert update.checked_in.check_in.day == "2026-03-10"
    watching.cancel()


@pytest.mark.usefixtures("engine")  # emptied tables for the app built here
async def test_heartbeats_carry_the_position(settings: Settings, clock: MovableClock) -> None:
    # A short interval instead of a movable clock: heartbeats follow the monotonic clock
    # (the service's clock is for business time), and three beats take 0.15 s.
    fast = build_app(settings.model_copy(update={"live_heartbeat_seconds": 0.05}), clock=clock)
    running = await start_server(fast, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as quick:
            watching = _watch(quick, "dan")
            beats = await _take(watching, 3, skip=())
            assert _kinds(beats) == ["heartbeat"] * 3
            assert len({b.id for b in beats}) == 1
            watching.cancel()
    finally:
        await running.stop(0)
        await fast.close()


async def _short_feed(settings: Settings, clock: MovableClock, length: int) -> tuple[App, Any]:
    app = build_app(settings.model_copy(update={"live_max_length": length}), clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    async with auth.channel(running.port) as channel:
        await admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
            admin_pb.UpsertDefinitionRequest(definition=_order_task())
        )
    return app, running


@pytest.mark.usefixtures("engine")  # emptied tables for the app built here
async def test_a_position_no_longer_kept_starts_with_a_gap(
    settings: Settings, clock: MovableClock
) -> None:
    app, running = await _short_feed(settings, clock, 4)
    try:
        async with auth.channel(running.port) as feed:
            sender = events_grpc.EventServiceStub(feed)
            watching = _watch(feed, "eve")
            start = await _opened(watching)
            for key in ("e1", "e2", "e3"):  # 1 + 3 + 1 updates: e1's is trimmed away
                await sender.TrackEvent(_order("eve", key))
            seen, *kept = await _take(watching, 5)
            watching.cancel()

            resumed = _watch(feed, "eve", after_id=start)
            gap, *rest = await _take(resumed, 5)
            assert (gap.WhichOneof("kind"), gap.gap.kept_after_id) == ("gap", seen.id)
            assert [u.id for u in rest] == [u.id for u in kept]
            resumed.cancel()

            after_seen = _watch(feed, "eve", after_id=seen.id)  # nothing lost: no gap
            assert [u.id for u in await _take(after_seen, 4)] == [u.id for u in kept]
            after_seen.cancel()

            future = _watch(feed, "eve", after_id="99999999999999-0")
            (gap,) = await _take(future, 1)
            assert (gap.WhichOneof("kind"), gap.id) == ("gap", kept[-1].id)
            future.cancel()
    finally:
        await running.stop(0)
        await app.close()


@pytest.mark.usefixtures("engine")  # emptied tables for the app built here
async def test_a_burst_longer_than_the_feed_keeps_is_a_gap_while_watching(
    settings: Settings, clock: MovableClock
) -> None:
    app, running = await _short_feed(settings, clock, 2)
    try:
        async with auth.channel(running.port) as feed:
            sender = events_grpc.EventServiceStub(feed)
            await sender.TrackEvent(_order("eve", "e1"))
            watching = _watch(feed, "eve")
            await _opened(watching)
            await sender.TrackEvent(_order("eve", "e2"))  # progress, completion, grant
            gap, *kept = await _take(watching, 3, skip=())
            assert gap.WhichOneof("kind") == "gap"
            assert _kinds(kept) == ["task_completed", "grant_decided"]
            watching.cancel()
    finally:
        await running.stop(0)
        await app.close()


async def test_rank_changes_on_watched_boards(channel: grpc.aio.Channel) -> None:
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    await admin.UpsertBoard(
        board_pb.UpsertBoardRequest(
            board=board_pb.Board(
                board_id="daily", title="Daily", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
                aggregation=board_pb.AGGREGATION_SUM,
                tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
                period=board_pb.Period(kind=board_pb.PERIOD_KIND_DAILY), timezone="UTC",
                retention_periods=2,
            )
        )
    )  # fmt: skip
    boards = board_grpc.LeaderboardServiceStub(channel)
    ref = board_pb.BoardRef(board_id="daily")
    watching = _watch(channel, "fay", boards=[ref])
    (start,) = await _take(watching, 1)
    assert (start.rank_changed.board.board_id, start.rank_changed.rank) == ("daily", 0)

    submit = board_pb.SubmitScoreRequest
    await boards.SubmitScore(
        submit(board_id="daily", member_id="fay", value=10, idempotency_key="1")
    )
    (first,) = await _take(watching, 1)
    assert (first.rank_changed.rank, first.rank_changed.score) == (1, 10)
    await boards.SubmitScore(
        submit(board_id="daily", member_id="gus", value=30, idempotency_key="2")
    )
    (overtaken,) = await _take(watching, 1)
    assert (overtaken.rank_changed.rank, overtaken.rank_changed.total_members) == (2, 2)
    watching.cancel()


async def _drain(call: Any) -> None:
    async with asyncio.timeout(READ_TIMEOUT):
        while True:
            await call.read()


async def _code(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await _drain(call)
    return excinfo.value.code(), excinfo.value.details() or ""


@pytest.mark.usefixtures("engine")  # emptied tables for the app built here
async def test_streams_are_refused_past_their_bounds_and_cleaned_up_when_cancelled(
    settings: Settings, clock: MovableClock
) -> None:
    bounded = build_app(
        settings.model_copy(update={"live_max_streams_per_user": 1, "live_max_streams": 2}),
        clock=clock,
    )
    running = await start_server(bounded, "127.0.0.1:0")
    reader = bounded.live.reader
    assert isinstance(reader, RedisFeedReader)
    try:
        async with auth.channel(running.port) as channel:
            ana = _watch(channel, "ana")
            await _opened(ana)
            code, message = await _code(_watch(channel, "ana"))
            assert (code, message) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "user ana has 1 live streams open already; close one first",
            )
            bob = _watch(channel, "bob")
            await _opened(bob)
            code, message = await _code(_watch(channel, "cy"))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 2 live streams" in message
            assert bounded.live.watchers.open == 2

            ana.cancel()
            bob.cancel()

            async def cleaned() -> bool:
                return bounded.live.watchers.open == 0 and reader.connections_in_use() == 0

            await wait_until(cleaned, what="streams and their Redis connections released")
            again = _watch(channel, "ana")
            await _opened(again)
            again.cancel()
    finally:
        await running.stop(0)
        await bounded.close()


async def test_who_may_watch_and_what_is_refused(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as bare:
        stub = pb_grpc.LiveServiceStub(bare)
        anonymous = stub.WatchUser(pb.WatchUserRequest(user_id="ana"))
        assert (await _code(anonymous))[0] == grpc.StatusCode.UNAUTHENTICATED
        intruder = stub.WatchUser(pb.WatchUserRequest(user_id="ana"), metadata=_player("bob"))
        assert await _code(intruder) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "user_id: a player may act only for itself",
        )
        service = stub.WatchUser(
            pb.WatchUserRequest(user_id="ana"),
            metadata=((AUTHORIZATION, f"Bearer {auth.token('backend', 'service')}"),),
        )
        await _opened(service)
        service.cancel()
    refused = {
        "after_id": (
            _watch(channel, "ana", after_id="yesterday"),
            "after_id: must be a feed id like 1764771234567-0",
        ),
        "control": (_watch(channel, "ana\x00"), "user_id: must not contain control characters"),
        "board": (
            _watch(channel, "ana", boards=[board_pb.BoardRef(board_id="nope")]),
            "board 'nope' not found",
        ),
    }
    for name, (call, message) in refused.items():
        code, details = await _code(call)
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), name
        assert details.lower() == message.lower(), name


@pytest.mark.usefixtures("engine")  # emptied tables for the app built here
async def test_a_rate_limited_user_cannot_open_more_streams(
    settings: Settings, clock: MovableClock
) -> None:
    limited = build_app(
        settings.model_copy(
            update={"user_rate_limit_per_second": 0.001, "user_rate_limit_burst": 1}
        ),
        clock=clock,
    )
    running = await start_server(limited, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as channel:
            first = _watch(channel, "ana")
            await _opened(first)
            first.cancel()
            code, message = await _code(_watch(channel, "ana"))
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "rate limit is exhausted" in message
    finally:
        await running.stop(0)
        await limited.close()


async def test_deleting_a_users_data_deletes_their_feed(
    channel: grpc.aio.Channel, redis_client: redis.Redis, settings: Settings
) -> None:
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="hal", timezone="UTC")
    )
    prefix = settings.redis_key_prefix
    keys = [live_feed_key(prefix, "hal"), live_meta_key(prefix, "hal")]
    assert await redis_client.exists(*keys) == 2
    await privacy_grpc.PrivacyAdminServiceStub(channel).DeleteUserData(
        privacy_pb.DeleteUserDataRequest(user_id="hal", reason="erasure request")
    )
    assert await redis_client.exists(*keys) == 0
