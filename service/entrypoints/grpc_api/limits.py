"""Load limits of every call: deadlines, a server-wide concurrency limit, rate limits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from service.adapters.rate_limits import RateLimits, Refusal
from service.entrypoints.grpc_api.caller import current_caller
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.wrapping import (
    Handler,
    MethodHandler,
    StreamHandler,
    WrappingInterceptor,
    behaviour_of,
    server_stream,
    stream_behaviour_of,
    unary,
)

log = logging.getLogger(__name__)

RETRY_AFTER_HEADER = "retry-after-ms"
# Health checks and reflection answer from memory and must answer while the server sheds.
_UNLIMITED_PREFIX = "/grpc."
_USER_FIELDS = ("user_id", "member_id")


def user_of(request: object) -> str:
    """The user a request acts for: its top-level `user_id` or `member_id`, else ""."""
    if not isinstance(request, Message):
        return ""
    fields = request.DESCRIPTOR.fields_by_name
    for name in _USER_FIELDS:
        value = getattr(request, name) if name in fields else None
        if isinstance(value, str) and value:  # not a repeated field
            return value
    return ""


class LimitsInterceptor(WrappingInterceptor):
    """Honours the caller's deadline, sheds calls beyond `max_concurrent` at once and takes a
    token per call from the user's and the credential's buckets.

    It must come after the interceptor that sets the caller, whose subject names the
    credential. Shedding answers RESOURCE_EXHAUSTED at once instead of queueing without
    bound; a call over a rate limit gets RESOURCE_EXHAUSTED with a retry hint.
    """

    def __init__(self, max_concurrent: int, rate_limits: RateLimits) -> None:
        super().__init__()
        self._max_concurrent = max_concurrent
        self._rate_limits = rate_limits
        self.in_flight = 0
        # Calls refused because their deadline had passed when they reached the server.
        self.expired = 0

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        limited = not method.startswith(_UNLIMITED_PREFIX)
        if (streaming := stream_behaviour_of(handler)) is not None and limited:
            return server_stream(handler, self._limit_stream(streaming))
        if handler.unary_unary is None:
            return handler
        return unary(handler, self._limit(behaviour_of(handler), limited))

    def _limit_stream(self, inner: StreamHandler) -> StreamHandler:
        """A stream is admitted like a call (deadline, shedding, a token from each bucket),
        then runs outside the concurrency count: it lives long and idles, and its own
        bound is the live streams' limit. grpc ends it at its deadline."""

        async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
            await self._admit(request, context)
            async for response in inner(request, context):
                yield response

        return handle

    async def _admit(self, request: Any, context: Context) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            self.expired += 1
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed before the call began"
            )
        if self.in_flight >= self._max_concurrent:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the server is at its limit of {self._max_concurrent} calls at once; retry",
            )
        if self._rate_limits.enabled:
            refusal = await self._rate_limits.check(user_of(request), current_caller().subject)
            if refusal is not None:
                await _refuse(refusal, context)

    def _limit(self, inner: Handler, limited: bool) -> Handler:
        async def handle(request: Any, context: Context) -> Any:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                self.expired += 1
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed before the call began"
                )
            if not limited:
                return await _within(remaining, inner, request, context)
            if self.in_flight >= self._max_concurrent:
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"the server is at its limit of {self._max_concurrent} calls at once; retry",
                )
            self.in_flight += 1
            try:
                return await _within(remaining, self._limited, inner, request, context)
            finally:
                self.in_flight -= 1

        return handle

    async def _limited(self, inner: Handler, request: Any, context: Context) -> Any:
        if self._rate_limits.enabled:
            refusal = await self._rate_limits.check(user_of(request), current_caller().subject)
            if refusal is not None:
                await _refuse(refusal, context)
        return await inner(request, context)


async def _within(remaining: float | None, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run `call` under the call's remaining time; DEADLINE_EXCEEDED when it runs out.

    Cancelling a handler leaves TrackEvent's group commits alone: they run in tasks of their
    own, which the cancelled caller merely stops waiting for.
    """
    if remaining is None:
        return await call(*args)
    context: Context = args[-1]
    timeout = asyncio.timeout(remaining)
    try:
        async with timeout:
            return await call(*args)
    except TimeoutError:
        if not timeout.expired():
            raise
    await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed")
    return None  # not reached: abort raises


async def _refuse(refusal: Refusal, context: Context) -> None:
    wait = refusal.retry_after_seconds
    seconds = f"{wait:.3f}".rstrip("0").rstrip(".")  # 0.25, 1, 1200.5
    await context.abort(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"the {refusal.bucket}'s rate limit is exhausted; retry after {seconds}s",
        trailing_metadata=((RETRY_AFTER_HEADER, str(round(wait * 1000))),),
    )
