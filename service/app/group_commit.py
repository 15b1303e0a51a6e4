"""Group commit: concurrent calls share one transaction, and one call's fault fails only it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


def unreachable(exc: BaseException) -> bool:
    """Whether a failure means the store is out of reach (rather than one item's fault)."""
    return isinstance(exc, OSError)


class GroupCommit(Generic[Item, Result]):
    """Runs `apply` on groups of the items that concurrent calls bring.

    A call that finds fewer than `groups_in_flight` groups running starts one; calls that
    arrive meanwhile wait and go together in the next group, up to `max_group` items. A lone
    call waits for nothing, and under load the round trips of a transaction are shared by
    many calls. `apply` answers each item in order with its result or, for a fault of that
    item alone, with the exception its caller gets.

    A group whose `apply` raises is split in halves and each half retried in order, down to
    the faulty items, so one item's failure, whatever it is, never fails the others. A
    failure `unavailable` recognises (a store out of reach) fails the rest of the group at
    once; any other is split down to single items (at most 2n - 1 transactions for n).
    """

    def __init__(
        self,
        apply: Callable[[Sequence[Item]], Awaitable[Sequence[Result | BaseException]]],
        *,
        max_group: int = 128,
        groups_in_flight: int = 2,
        unavailable: Callable[[BaseException], bool] = unreachable,
        on_group: Callable[[int, float], None] | None = None,
    ) -> None:
        """`on_group` hears the size and duration in seconds of every group transaction."""
        self._apply = apply
        self._on_group = on_group
        self._max_group = max_group
        self._groups_in_flight = groups_in_flight
        self._unavailable = unavailable
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._running < self._groups_in_flight:
            self._running += 1
            # A task of its own: a caller cancelled mid-group must not abandon the others.
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                await self._settle(group)
        finally:
            self._running -= 1

    async def _settle(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        """Apply the group; on a failure, bisect it so that only the faulty items fail."""
        parts = [group]  # a stack: the earliest items are on top
        while parts:
            # A caller that went away (a deadline, a cancellation) sends nothing.
            part = [waiting for waiting in parts.pop() if not waiting[1].done()]
            error = await self._attempt(part) if part else None
            if error is None:
                continue
            if self._unavailable(error):
                # The store is out of reach: every caller hears it now and may retry.
                for _, future in [w for p in (part, *parts) for w in p]:
                    _resolve(future, error)
                return
            if len(part) == 1:
                _resolve(part[0][1], error)
            else:
                log.info("splitting a failed group of %d: %r", len(part), error)
                half = len(part) // 2
                parts += [part[half:], part[:half]]

    async def _attempt(self, part: list[tuple[Item, asyncio.Future[Result]]]) -> Exception | None:
        """Apply the part in one transaction and answer its callers; or the failure."""
        start = time.perf_counter()
        try:
            results = await self._apply([item for item, _ in part])
        except Exception as exc:  # noqa: BLE001 - whatever failed, the caller decides
            return exc
        if self._on_group is not None:
            self._on_group(len(part), time.perf_counter() - start)
        for (_, future), result in zip(part, results, strict=True):
            _resolve(future, result)
        return None

    async def aclose(self) -> None:
        """Wait for the groups under way; calls after this are not served."""
        while self._tasks:
            await asyncio.gather(*self._tasks)


def _resolve(future: asyncio.Future[Result], result: Result | BaseException) -> None:
    if future.done():  # the caller went away
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
