"""A bounded load generator: workers calling the service until stopped, a count or a deadline."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc

from service.waiting import pause
from tests.support.waiting import wait_until

OK = grpc.StatusCode.OK
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
# A caller's own deadline: the call may or may not have taken effect, like UNAVAILABLE.
CALL_TIMEOUT_S = 10.0
# How long a worker waits after a failed call before its next one, as a client would.
RETRY_PAUSE_S = 0.1


@dataclass
class Attempt:
    """One call: what was sent and what came back."""

    kind: str
    key: str
    request: Any
    code: grpc.StatusCode = OK
    response: Any = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def ok(self) -> bool:
        return self.code is OK


Rpc = Callable[..., Awaitable[Any]]


async def call(kind: str, key: str, rpc: Rpc, request: Any) -> Attempt:
    """Make one call and record its outcome; never raises for a status."""
    attempt = Attempt(kind, key, request, started=time.monotonic())
    try:
        attempt.response = await rpc(request, timeout=CALL_TIMEOUT_S)
    except grpc.aio.AioRpcError as exc:
        attempt.code = exc.code()
    attempt.ended = time.monotonic()
    return attempt


Operation = Callable[[int, int], Awaitable[Attempt]]


@dataclass
class Load:
    """`workers` tasks each running `operation(worker, n)` for n = 0, 1, ... until `stop()`,
    `max_calls` calls in all, or `max_seconds`."""

    operation: Operation
    workers: int
    max_calls: int
    max_seconds: float
    attempts: list[Attempt] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> Load:
        deadline = time.monotonic() + self.max_seconds
        self._tasks = [asyncio.create_task(self._run(w, deadline)) for w in range(self.workers)]
        return self

    async def _run(self, worker: int, deadline: float) -> None:
        n = 0
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if len(self.attempts) >= self.max_calls:
                return
            attempt = await self.operation(worker, n)
            self.attempts.append(attempt)
            n += 1
            if not attempt.ok:
                await pause(self._stopping, RETRY_PAUSE_S)

    async def stop(self) -> list[Attempt]:
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        return self.attempts

    def oks_after(self, moment: float) -> int:
        return sum(1 for a in self.attempts if a.ok and a.started > moment)


def codes(attempts: Iterable[Attempt]) -> dict[str, int]:
    """How many calls ended with each status, for messages."""
    return dict(Counter(a.code.name for a in attempts))


async def eventually(condition: Callable[[], Awaitable[bool]], within: float) -> bool:
    """Whether `condition` comes to hold within `within` seconds (polled, never slept on)."""
    try:
        await wait_until(condition, within=within)
    except AssertionError:
        return False
    return True
