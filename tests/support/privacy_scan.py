"""Looks for a string everywhere the service stores data: every text column, every Redis key."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.schema import metadata

_TEXT = (sa.String, sa.Text, JSONB, ARRAY)


async def postgres_mentions(engine: AsyncEngine, needle: str) -> list[str]:
    """ "table.column" for every text, JSON or array column of any table holding `needle`."""
    found: list[str] = []
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, _TEXT):
                    continue
                stmt = sa.select(sa.func.count()).where(
                    sa.cast(column, sa.Text).contains(needle, autoescape=True)
                )
                if await conn.scalar(stmt):
                    found.append(f"{table.name}.{column.name}")
    return found


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


async def _values(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = _bytes(await client.type(key)).decode()
    found: list[Any] = []
    if kind == "zset":
        found = list(await client.zrange(key, 0, -1))
    elif kind == "hash":
        pairs = await client.hgetall(key)
        found = [*pairs.keys(), *pairs.values()]
    elif kind == "set":
        found = list(await client.smembers(key))
    elif kind == "list":
        found = list(await client.lrange(key, 0, -1))
    elif kind == "string":
        found = [await client.get(key)]
    return [_bytes(value) for value in found if value is not None]


async def redis_mentions(client: redis.Redis, prefix: str, needle: str) -> list[str]:
    """Keys under `prefix` whose name, members, fields or values hold `needle`."""
    target = needle.encode()
    found: list[str] = []
    async for key in client.scan_iter(match=f"*{prefix}*", count=1000):
        if target in _bytes(key) or any(target in value for value in await _values(client, key)):
            found.append(_bytes(key).decode())
    return found
