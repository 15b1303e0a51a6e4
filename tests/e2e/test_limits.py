"""Load limits through a real server: shedding, rate limits per user and credential, deadlines."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

NO_RATE_LIMITS = {"user_rate_limit_per_second": 0.0, "credential_rate_limit_per_second": 0.0}


@pytest.fixture
def limit_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(settings: Settings, limit_settings: dict[str, Any]) -> Settings:
    return settings.model_copy(update=limit_settings)


@pytest.fixture
def streaks(channel: grpc.aio.Channel) -> pb_grpc.CheckInServiceAsyncStub:
    return pb_grpc.CheckInServiceStub(channel)


async def _failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def _locked(engine: AsyncEngine, table: str) -> AsyncIterator[AsyncConnection]:
    """Hold `table` locked so that every handler reading it waits (a busy server)."""
    async with engine.connect() as conn:
        await conn.execute(sa.text(f"lock table {table} in access exclusive mode"))
        yield conn
        await conn.rollback()


@pytest.mark.parametrize("limit_settings", [{"max_concurrent_calls": 2, **NO_RATE_LIMITS}])
async def test_calls_past_the_concurrency_limit_are_shed_at_once(
    server: RunningServer,
    channel: grpc.aio.Channel,
    streaks: pb_grpc.CheckInServiceAsyncStub,
    engine: AsyncEngine,
) -> None:
    lock = _locked(engine, "streaks")
    await anext(lock)
    waiting = [
        asyncio.ensure_future(streaks.GetStreak(pb.GetStreakRequest(user_id=u), timeout=20))
        for u in ("a", "b")
    ]

    async def both_in_flight() -> bool:
        return server.limits.in_flight == 2

    await wait_until(both_in_flight, what="two calls in flight")
    shed = await _failure(streaks.GetStreak(pb.GetStreakRequest(user_id="c"), timeout=20))
    assert shed.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit of 2 calls at once" in (shed.details() or "")
    # Health checks answer while the server sheds.
    await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    await anext(lock, None)
    assert [r.streak.user_id for r in await asyncio.gather(*waiting)] == ["a", "b"]
    assert server.limits.in_flight == 0
    await streaks.GetStreak(pb.GetStreakRequest(user_id="c"), timeout=20)


@pytest.mark.parametrize(
    "limit_settings", [{"user_rate_limit_per_second": 2.0, "user_rate_limit_burst": 2}]
)
async def test_a_users_bucket_empties_and_refills_with_the_clock(
    server: RunningServer, streaks: pb_grpc.CheckInServiceAsyncStub, clock: MovableClock
) -> None:
    alice = pb.GetStreakRequest(user_id="alice")
    await streaks.GetStreak(alice, timeout=10)
    await streaks.GetStreak(alice, timeout=10)
    refused = await _failure(streaks.GetStreak(alice, timeout=10))
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "the user's rate limit is exhausted; retry after 0.5s" in (refused.details() or "")
    trailing: dict[str, Any] = dict(refused.trailing_metadata() or ())  # type: ignore[arg-type]
    assert trailing.get("retry-after-ms") == "500"
    # Another user has a bucket of its own; calls without a user have none.
    await streaks.GetStreak(pb.GetStreakRequest(user_id="bob"), timeout=10)
    clock.advance(seconds=0.25)
    refused = await _failure(streaks.GetStreak(alice, timeout=10))
    assert "retry after 0.25s" in (refused.details() or "")
    clock.advance(seconds=0.25)
    await streaks.GetStreak(alice, timeout=10)
    await _failure(streaks.GetStreak(alice, timeout=10))
    clock.advance(seconds=60)  # refills up to the burst, not beyond
    await streaks.GetStreak(alice, timeout=10)
    await streaks.GetStreak(alice, timeout=10)
    await _failure(streaks.GetStreak(alice, timeout=10))


@pytest.mark.parametrize(
    "limit_settings",
    [
        {
            "user_rate_limit_per_second": 1.0,
            "user_rate_limit_burst": 2,
            "credential_rate_limit_per_second": 1.0,
            "credential_rate_limit_burst": 3,
        }
    ],
)
async def test_the_user_and_the_credential_have_buckets_of_their_own(
    server: RunningServer, channel: grpc.aio.Channel, streaks: pb_grpc.CheckInServiceAsyncStub
) -> None:
    """Every call here has the same credential; a refused call takes no token from either."""
    alice = pb.GetStreakRequest(user_id="alice")
    await streaks.GetStreak(alice, timeout=10)
    await streaks.GetStreak(alice, timeout=10)
    refused = await _failure(streaks.GetStreak(alice, timeout=10))
    assert "the user's rate limit" in (refused.details() or "")
    await streaks.GetStreak(pb.GetStreakRequest(user_id="bob"), timeout=10)
    refused = await _failure(streaks.GetStreak(pb.GetStreakRequest(user_id="carol"), timeout=10))
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "the credential's rate limit is exhausted; retry after 1s" in (refused.details() or "")
    # A call naming no user (listing boards) has only the credential's bucket.
    boards = lb_grpc.LeaderboardAdminServiceStub(channel)
    refused = await _failure(boards.ListBoards(lb_pb.ListBoardsRequest(), timeout=10))
    assert "the credential's rate limit" in (refused.details() or "")


@pytest.mark.parametrize(
    "limit_settings",
    [
        {
            "redis_url": "redis://127.0.0.1:1/0",
            "user_rate_limit_per_second": 1.0,
            "user_rate_limit_burst": 1,
        }
    ],
)
async def test_rate_limits_fail_open_with_one_warning_when_redis_is_down(
    server: RunningServer,
    streaks: pb_grpc.CheckInServiceAsyncStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="service.adapters.rate_limits")
    for _ in range(3):
        await streaks.GetStreak(pb.GetStreakRequest(user_id="alice"), timeout=10)
    warnings = [r for r in caplog.records if r.name == "service.adapters.rate_limits"]
    assert len(warnings) == 1
    assert "calls let through" in warnings[0].getMessage()


@pytest.mark.parametrize("limit_settings", [NO_RATE_LIMITS])
async def test_a_handler_stops_when_the_deadline_runs_out(
    server: RunningServer, streaks: pb_grpc.CheckInServiceAsyncStub, engine: AsyncEngine
) -> None:
    lock = _locked(engine, "streaks")
    await anext(lock)
    late = await _failure(streaks.GetStreak(pb.GetStreakRequest(user_id="a"), timeout=0.3))
    assert late.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    async def stopped() -> bool:
        return server.limits.in_flight == 0

    await wait_until(stopped, within=5, what="the handler to stop while the table is locked")
    await anext(lock, None)


@pytest.mark.parametrize("limit_settings", [NO_RATE_LIMITS])
async def test_a_callers_deadline_leaves_its_group_commit_running(
    server: RunningServer, channel: grpc.aio.Channel, engine: AsyncEngine
) -> None:
    """The caller that started a TrackEvent group goes away; the group still commits."""
    events = events_grpc.EventServiceStub(channel)
    event = events_pb.TrackEventRequest(user_id="alice", type="order.paid", idempotency_key="o-1")
    lock = _locked(engine, "rule_profiles")
    await anext(lock)
    late = await _failure(events.TrackEvent(event, timeout=0.3))
    assert late.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await anext(lock, None)

    async def committed() -> bool:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.text("select count(*) from rule_events where idempotency_key = 'o-1'")
            )
        return bool(found == 1)

    await wait_until(committed, what="the group's commit")
    again = await events.TrackEvent(event, timeout=10)
    assert again.effects.duplicate


@pytest.mark.parametrize("limit_settings", [NO_RATE_LIMITS])
async def test_a_call_whose_deadline_passed_on_arrival_is_not_started(
    server: RunningServer, engine: AsyncEngine
) -> None:
    """A client in another thread calls while the server's event loop (this test's) is busy
    until the call's deadline has passed, as an overloaded server's would be. The call is
    never started; a later call on the same channel is served."""
    outcome: list[object] = []
    bearer = (("authorization", f"Bearer {auth.token()}"),)

    def call() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = pb_grpc.CheckInServiceStub(channel)
            try:
                alice = pb.CheckInRequest(user_id="alice", timezone="UTC")
                stub.CheckIn(alice, timeout=0.2, metadata=bearer)
            except grpc.RpcError as exc:
                outcome.append(exc.code())
            started.set()
            bob = pb.CheckInRequest(user_id="bob", timezone="UTC")
            outcome.append(stub.CheckIn(bob, timeout=20, metadata=bearer))

    started = threading.Event()
    client = threading.Thread(target=call)
    client.start()
    busy_until = time.monotonic() + 0.5
    while time.monotonic() < busy_until and not started.is_set():
        pass  # busy, not sleeping: the loop runs nothing meanwhile
    await asyncio.to_thread(client.join, 20)
    assert outcome[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert isinstance(outcome[1], pb.CheckInResponse)
    async with engine.connect() as conn:
        users = await conn.scalars(sa.text("select user_id from check_ins"))
        assert list(users) == ["bob"]
