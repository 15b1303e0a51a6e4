"""Metrics, request ids and access log lines of calls through a real server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import App, build_app
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import live_pb2 as live_pb
from service.gen.engagement.v1 import live_pb2_grpc as live_grpc
from service.observability.logs import ACCESS_LOGGER, RequestIdFilter
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
async def observed(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> AsyncIterator[tuple[App, RunningServer]]:
    """A server whose settings ask for metrics (the exporter itself is not needed here)."""
    app = build_app(settings.model_copy(update={"metrics_address": "127.0.0.1:0"}), clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    yield app, running
    await running.stop(0)
    await app.close()


def _sample(app: App, name: str, **labels: str) -> float:
    return app.metrics.registry.get_sample_value(name, labels) or 0.0


async def _recorded(app: App, calls: int) -> None:
    """Wait for `calls` calls to be counted: a caller may hear its answer a moment before the
    server has finished recording the call."""

    async def counted() -> bool:
        samples = [
            s.value for m in app.metrics.registry.collect() if m.name == "engagement_rpc_calls"
            for s in m.samples if s.name == "engagement_rpc_calls_total"
        ]  # fmt: skip
        return sum(samples) >= calls

    await wait_until(counted, what=f"{calls} calls counted")


async def test_calls_are_counted_and_timed_by_method_and_status(
    observed: tuple[App, RunningServer],
) -> None:
    app, running = observed
    async with auth.channel(running.port) as channel:
        stub = pb_grpc.CheckInServiceStub(channel)
        await stub.GetStreak(pb.GetStreakRequest(user_id="u1"))
        await stub.GetStreak(pb.GetStreakRequest(user_id="u1"))
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.GetStreak(pb.GetStreakRequest(user_id=""))
    async with auth.channel(running.port, credential="not-a-token") as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await pb_grpc.CheckInServiceStub(channel).GetStreak(pb.GetStreakRequest(user_id="u1"))

    method = "CheckInService/GetStreak"
    await _recorded(app, 4)
    assert _sample(app, "engagement_rpc_calls_total", method=method, code="OK") == 2
    assert _sample(app, "engagement_rpc_calls_total", method=method, code="INVALID_ARGUMENT") == 1
    assert _sample(app, "engagement_rpc_calls_total", method=method, code="UNAUTHENTICATED") == 1
    timed = _sample(app, "engagement_rpc_duration_seconds_count", method=method, code="OK")
    assert timed == 2
    assert _sample(app, "engagement_rpc_duration_seconds_sum", method=method, code="OK") > 0
    assert _sample(app, "engagement_pool_wait_seconds_count") >= 2


async def test_events_are_counted_by_outcome_and_kind_of_rejection(
    observed: tuple[App, RunningServer],
) -> None:
    app, running = observed
    limit = app.settings.event_max_value
    async with auth.channel(running.port) as channel:
        stub = events_grpc.EventServiceStub(channel)
        for key, value in (("e1", 1), ("e1", 1), ("e2", limit + 1)):
            await stub.TrackEvent(
                events_pb.TrackEventRequest(
                    user_id="u1", type="order.paid", value=value, idempotency_key=key
                )
            )

    await _recorded(app, 3)
    assert _sample(app, "engagement_events_total", outcome="applied", reason="") == 1
    assert _sample(app, "engagement_events_total", outcome="duplicate", reason="") == 1
    assert _sample(app, "engagement_events_total", outcome="rejected", reason="value") == 1
    assert _sample(app, "engagement_event_group_size_sum") >= 2
    assert _sample(app, "engagement_event_group_duration_seconds_count") >= 2


async def test_leaderboard_operations_are_timed(observed: tuple[App, RunningServer]) -> None:
    app, running = observed
    board = board_pb.Board(
        board_id="timed", title="Timed", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_COMPETITION,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
    )  # fmt: skip
    async with auth.channel(running.port) as channel:
        admin = board_grpc.LeaderboardAdminServiceStub(channel)
        await admin.UpsertBoard(board_pb.UpsertBoardRequest(board=board))
        stub = board_grpc.LeaderboardServiceStub(channel)
        await stub.SubmitScore(
            board_pb.SubmitScoreRequest(
                board_id="timed", member_id="m", value=5, idempotency_key="k"
            )
        )
        await stub.GetLeaderboard(
            board_pb.GetLeaderboardRequest(board=board_pb.BoardRef(board_id="timed"))
        )
        await stub.GetRank(
            board_pb.GetRankRequest(board=board_pb.BoardRef(board_id="timed"), member_id="m")
        )

    for operation in ("put", "page", "rank"):
        count = "engagement_leaderboard_operation_duration_seconds_count"
        assert _sample(app, count, operation=operation) == 1, operation
    assert _sample(app, "engagement_score_group_size_sum") == 1
    assert _sample(app, "engagement_score_group_duration_seconds_count") == 1


async def test_every_log_line_of_a_call_carries_its_request_id(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    metadata = (("x-request-id", "req-42"),)
    async with auth.channel(server.port) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            # Refused with INVALID_ARGUMENT, which the error mapping logs.
            await pb_grpc.CheckInServiceStub(channel).GetStreak(
                pb.GetStreakRequest(user_id=""), metadata=metadata
            )

    async def logged() -> bool:
        return any(r.name == ACCESS_LOGGER for r in caplog.records)

    await wait_until(logged, what="the access log line")
    lines = [r for r in caplog.records if getattr(r, "request_id", "") == "req-42"]
    assert {r.name for r in lines} >= {"service.entrypoints.grpc_api.errors", ACCESS_LOGGER}
    access = next(r for r in lines if r.name == ACCESS_LOGGER)
    assert access.__dict__["method"] == "CheckInService/GetStreak"
    assert access.__dict__["code"] == "INVALID_ARGUMENT"
    assert access.__dict__["subject"] == "test-operator"
    assert access.__dict__["duration_ms"] > 0


async def test_the_access_log_can_be_turned_off(
    settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = build_app(settings.model_copy(update={"access_log": False}))
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as channel:
            await pb_grpc.CheckInServiceStub(channel).GetStreak(pb.GetStreakRequest(user_id="u1"))
    finally:
        await running.stop(0)
        await app.close()

    assert not [r for r in caplog.records if r.name == ACCESS_LOGGER]
    caplog.clear()


async def test_streaming_calls_are_counted_when_they_end(
    observed: tuple[App, RunningServer],
) -> None:
    app, running = observed
    async with auth.channel(running.port) as channel:
        stream = live_grpc.LiveServiceStub(channel).WatchUser(
            live_pb.WatchUserRequest(user_id=""),
            metadata=(("authorization", f"Bearer {auth.token()}"),),
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stream.read()

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    await _recorded(app, 1)
    method = "LiveService/WatchUser"
    assert _sample(app, "engagement_rpc_calls_total", method=method, code="INVALID_ARGUMENT") == 1
