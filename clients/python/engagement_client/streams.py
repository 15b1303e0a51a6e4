"""Server-streaming calls: no deadline once open, but a bounded, retried opening."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from grpc.aio import EOF  # type: ignore[attr-defined]

from engagement_client.retry import RetryPolicy, Sleep, is_idempotent, retry_pause


def not_opened(window: float) -> grpc.aio.AioRpcError:
    """The error of a stream whose first message did not come within `window` seconds."""
    return grpc.aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        f"the stream did not open (no first message) within {window:g} s",
        "",
    )


async def _responses(call: Any, first: Any) -> AsyncIterator[Any]:
    """The stream's messages, the one the opening read first; read() throughout, since grpc
    refuses a call read both with read() and with `async for`."""
    if first is EOF:
        return
    yield first
    while (message := await call.read()) is not EOF:
        yield message


class StreamOpening(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    """A stream lasts: it gets no deadline unless the caller passes `timeout=`. Its opening,
    up to its first message, must happen within `window` seconds (or the caller's shorter
    timeout), waiting for the channel to be ready and, for streams that are safe to repeat,
    retrying UNAVAILABLE with the policy's backoff; else DEADLINE_EXCEEDED.

    Every stream of the service sends a first message at once (WatchUser a heartbeat), so
    the first message is what tells an open stream from a server that does not answer.
    """

    def __init__(self, window: float, policy: RetryPolicy, sleep: Sleep = asyncio.sleep) -> None:
        self._window = window
        self._policy = policy
        self._sleep = sleep

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        timeout = client_call_details.timeout
        window = self._window if timeout is None else min(self._window, timeout)
        deadline = time.monotonic() + window
        retryable = is_idempotent(client_call_details.method, request)
        details = client_call_details
        if details.wait_for_ready is None:
            # Fail-fast would end a reconnecting stream at once while the server restarts.
            details = details._replace(wait_for_ready=True)
        attempt = 1
        while True:
            call = await continuation(details, request)
            try:
                first = await asyncio.wait_for(call.read(), deadline - time.monotonic())
            except TimeoutError:
                call.cancel()
                raise not_opened(window) from None
            except grpc.aio.AioRpcError as exc:
                remaining = deadline - time.monotonic()
                pause = retry_pause(self._policy, attempt, exc.code(), retryable, remaining)
                if pause is None:
                    raise
                await self._sleep(pause)
                attempt += 1
                continue
            except BaseException:
                call.cancel()
                raise
            return _responses(call, first)
