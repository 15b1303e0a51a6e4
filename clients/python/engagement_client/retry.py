"""Default deadlines, and retries on UNAVAILABLE for the calls that are safe to repeat."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

# Methods that change nothing: repeating them is always safe. A watch only reads a feed.
# CheckIn is not one: a retry landing after the user's midnight would check in the next day.
READ_PREFIXES = ("Get", "List", "Explain", "DryRun", "Reconcile", "Watch")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an idempotent call is repeated after UNAVAILABLE."""

    max_attempts: int = 5
    initial_backoff_seconds: float = 0.1
    max_backoff_seconds: float = 2.0
    multiplier: float = 2.0

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to the exponential bound, so callers do not align."""
        bound = self.initial_backoff_seconds * self.multiplier ** (attempt - 1)
        return random.uniform(0, min(bound, self.max_backoff_seconds))


NO_RETRY = RetryPolicy(max_attempts=1)


def method_name(method: str | bytes) -> str:
    """`/engagement.v1.EventService/TrackEvent` -> `TrackEvent`."""
    text = method.decode() if isinstance(method, bytes) else method
    return text.rsplit("/", 1)[-1]


def _keyed(message: Any) -> bool:
    fields = message.DESCRIPTOR.fields_by_name
    return "idempotency_key" in fields and bool(message.idempotency_key)


def is_idempotent(method: str | bytes, request: Any) -> bool:
    """A read, or a write whose request (or every event of a batch) carries an idempotency key.

    A write without a key is never repeated: the first attempt may have been applied and only
    its answer lost, and a second one would apply it again.
    """
    if method_name(method).startswith(READ_PREFIXES):
        return True
    if _keyed(request):
        return True
    fields = request.DESCRIPTOR.fields_by_name
    if "events" in fields and fields["events"].message_type is not None:
        events = list(request.events)
        return bool(events) and all(_keyed(event) for event in events)
    return False


def retry_pause(
    policy: RetryPolicy, attempt: int, code: grpc.StatusCode, retryable: bool, remaining: float
) -> float | None:
    """How long to wait before the attempt after `attempt` (1-based) ended with `code`, or
    None when there is none: not UNAVAILABLE, not safe to repeat, out of attempts, or the
    pause would use up the `remaining` seconds of the deadline."""
    if code != grpc.StatusCode.UNAVAILABLE or not retryable:
        return None
    if attempt >= policy.max_attempts:
        return None
    pause = policy.backoff(attempt)
    return pause if pause < remaining else None


Sleep = Callable[[float], Awaitable[None]]


class DeadlineAndRetry(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Gives every call a deadline unless it has one, and repeats idempotent calls that met
    UNAVAILABLE while the deadline leaves time for another attempt."""

    def __init__(
        self, default_timeout: float, policy: RetryPolicy, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._default_timeout = default_timeout
        self._policy = policy
        self._sleep = sleep

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        timeout = client_call_details.timeout
        deadline = time.monotonic() + (self._default_timeout if timeout is None else timeout)
        retryable = is_idempotent(client_call_details.method, request)
        attempt = 1
        while True:
            remaining = deadline - time.monotonic()
            details = client_call_details._replace(timeout=max(remaining, 0.001))
            call = await continuation(details, request)
            code = await call.code()
            remaining = deadline - time.monotonic()
            pause = retry_pause(self._policy, attempt, code, retryable, remaining)
            if pause is None:
                return call
            await self._sleep(pause)
            attempt += 1
