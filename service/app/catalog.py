"""Definitions held in memory, reloaded when any replica stores a new version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Catalog(Generic[T]):
    """The current definitions of one kind, held in memory.

    Hot paths never query definitions. An update invalidates the catalog at once in the
    replica that made it and, through `notify`, in the others; a reload also happens after
    `max_age` seconds in case a notification was lost.
    """

    def __init__(
        self,
        load: Callable[[], Awaitable[T]],
        notify: Callable[[], Awaitable[None]],
        *,
        max_age: float = 30.0,
    ) -> None:
        self._load = load
        self._notify = notify
        self._max_age = max_age
        self._value: T | None = None
        self._loaded_at = -max_age
        self._generation = 0
        self._lock = asyncio.Lock()

    async def current(self) -> T:
        if self._value is None or time.monotonic() - self._loaded_at >= self._max_age:
            await self._reload()
        assert self._value is not None
        return self._value

    def invalidate(self) -> None:
        """Reload on the next read; called when any replica stored a new version."""
        self._generation += 1
        self._loaded_at = -self._max_age

    async def changed(self) -> None:
        """Invalidate here and tell the other replicas."""
        self.invalidate()
        await self._notify()

    async def _reload(self) -> None:
        async with self._lock:
            if self._value is not None and time.monotonic() - self._loaded_at < self._max_age:
                return  # another caller reloaded while this one waited
            started, generation = time.monotonic(), self._generation
            self._value = await self._load()
            # An invalidation during the load may have come after the rows were read.
            if generation == self._generation:
                self._loaded_at = started
