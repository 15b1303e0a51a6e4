"""The interceptors on server-streaming calls: errors after some responses, deadlines, checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import redis.exceptions

from service.adapters.rate_limits import Rate, RateLimits
from service.domain.errors import InvalidArgument
from service.entrypoints.grpc_api.errors import ErrorMappingInterceptor
from service.entrypoints.grpc_api.limits import LimitsInterceptor
from service.entrypoints.grpc_api.request_checks import RequestCheckInterceptor, RequestChecks
from service.gen.engagement.v1 import live_pb2
from tests.support.clock import MovableClock

METHOD = "/engagement.v1.LiveService/WatchUser"


class _Aborted(Exception):
    pass


class _Context:
    """The parts of a servicer context the interceptors use."""

    def __init__(self, remaining: float | None = None) -> None:
        self.remaining = remaining
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def time_remaining(self) -> float | None:
        return self.remaining

    def invocation_metadata(self) -> tuple[()]:
        return ()

    async def abort(self, code: grpc.StatusCode, details: str, **_: Any) -> None:
        self.aborted = code, details
        raise _Aborted


async def _wrapped(interceptor: Any, failure: BaseException | None) -> Any:
    async def watch(request: Any, context: Any) -> AsyncIterator[str]:
        yield "first"
        if failure is not None:
            raise failure
        yield "second"

    async def continuation(_: grpc.HandlerCallDetails) -> Any:
        return grpc.unary_stream_rpc_method_handler(watch)

    details: Any = type("Details", (), {"method": METHOD, "invocation_metadata": ()})()
    return (await interceptor.intercept_service(continuation, details)).unary_stream


async def _collect(handler: Any, request: Any, context: _Context, into: list[str]) -> None:
    async for response in handler(request, context):
        into.append(response)


async def _run(handler: Any, request: Any, context: _Context) -> list[str]:
    """The responses before the call was aborted (it must be)."""
    received: list[str] = []
    with pytest.raises(_Aborted):
        await _collect(handler, request, context, received)
    return received


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (ValueError("a bug"), grpc.StatusCode.INTERNAL),
        (redis.exceptions.ConnectionError("gone"), grpc.StatusCode.UNAVAILABLE),
        (InvalidArgument("after_id", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
async def test_an_error_after_some_responses_becomes_a_status(
    failure: Exception, code: grpc.StatusCode
) -> None:
    handler = await _wrapped(ErrorMappingInterceptor(), failure)
    context = _Context()
    assert await _run(handler, live_pb2.WatchUserRequest(), context) == ["first"]
    assert context.aborted is not None
    assert context.aborted[0] == code
    if code == grpc.StatusCode.INTERNAL:
        assert "a bug" not in context.aborted[1]


async def test_a_stream_streams_through_every_interceptor() -> None:
    handler = await _wrapped(ErrorMappingInterceptor(), None)
    received = [r async for r in handler(live_pb2.WatchUserRequest(), _Context())]
    assert received == ["first", "second"]


async def test_an_expired_stream_never_starts() -> None:
    off = Rate(0, 0)
    clock = MovableClock(dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
    limits = LimitsInterceptor(4, RateLimits(None, "p", clock, user=off, credential=off))  # type: ignore[arg-type]
    handler = await _wrapped(limits, None)
    context = _Context(remaining=0.0)
    assert await _run(handler, live_pb2.WatchUserRequest(), context) == []
    assert context.aborted is not None
    assert context.aborted[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert (limits.expired, limits.in_flight) == (1, 0)


async def test_a_streaming_request_is_checked_before_it_streams() -> None:
    handler = await _wrapped(RequestCheckInterceptor(RequestChecks()), None)
    with pytest.raises(InvalidArgument, match="user_id: must not contain control characters"):
        await anext(handler(live_pb2.WatchUserRequest(user_id="a\x07"), _Context()))
