"""Waiting inside background loops that must stop promptly when told to."""

from __future__ import annotations

import asyncio
import contextlib


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds` or until `stopping` is set, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stopping.wait()
