"""Running the Lua sources by EVALSHA, loading them on NOSCRIPT (a restarted or new node)."""

from __future__ import annotations

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
