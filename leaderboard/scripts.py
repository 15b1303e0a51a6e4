"""Running the Lua sources by EVALSHA, loading them on NOSCRIPT (a restarted or new node)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Sequence
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError

RedisClient: TypeAlias = Redis | RedisCluster
Arg: TypeAlias = str | int


@functools.cache
def _sha(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


async def run(client: RedisClient, source: str, keys: Sequence[str], args: Sequence[Arg]) -> Any:
    """One EVALSHA, or SCRIPT LOAD and a retry when the server does not know the script yet."""
    sha = _sha(source)
    try:
        return await client.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        # A cluster client sends SCRIPT LOAD to every primary, so any slot can run it next.
        await client.script_load(source)
        return await client.evalsha(sha, len(keys), *keys, *args)


async def run_many(
    client: RedisClient, source: str, calls: Sequence[tuple[Sequence[str], Sequence[Arg]]]
) -> list[Any]:
    """One EVALSHA per call in one pipeline; on NOSCRIPT, SCRIPT LOAD and the whole pipeline
    again, so only scripts whose calls may run twice (like PUT, by revision) belong here.

    redis-py refuses EVALSHA in cluster pipelines: there the calls go concurrently instead.
    """
    if len(calls) == 1:  # redis-py's pipeline would cost more than the call itself
        keys, args = calls[0]
        return [await run(client, source, keys, args)]
    if isinstance(client, RedisCluster):
        return list(await asyncio.gather(*(run(client, source, k, a) for k, a in calls)))

    async def execute() -> list[Any]:
        pipe = client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        return list(await pipe.execute())

    if not calls:
        return []
    sha = _sha(source)
    try:
        return await execute()
    except NoScriptError:
        await client.script_load(source)
        return await execute()
