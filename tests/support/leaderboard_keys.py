"""What a leaderboard key prefix holds in Redis."""

from __future__ import annotations

import redis.asyncio as redis


async def keys_under(client: redis.Redis, prefix: str) -> list[str]:
    """Every key of the board-periods under `prefix`."""
    return [key.decode() async for key in client.scan_iter(match=f"{{{prefix}:*", count=1000)]
