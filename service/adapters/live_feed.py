"""Users' live feeds on Redis Streams: one stream per user, trimmed by age and length.

Each update is one stream entry whose id ("<ms>-<seq>", from Redis's clock) is its position.
Adding, trimming and recording what was trimmed happen in one script, so a watcher can tell
exactly whether the updates after its position are all still kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import NoScriptError, RedisError

from service.app.boards.ports import BoardKey
from service.app.live.ports import FeedEntry, FeedState, Stamped
from service.redis_keys import live_board_key, live_feed_key, live_meta_key

log = logging.getLogger(__name__)

RedisClient: TypeAlias = Redis | RedisCluster
Encode = Callable[[Stamped], bytes]
BODY = b"u"
READ_COUNT = 100
# A board-period's change counter outlives its last change by this long.
BOARD_SIGNAL_TTL_MS = 86_400_000

# KEYS: feed, meta. ARGV: retention ms, max length, then one encoded update per entry.
# The newest id trimmed away becomes the meta's floor: a watcher at or after it lost nothing.
_ADD = """
local last
for i = 3, #ARGV do
  last = redis.call('XADD', KEYS[1], '*', 'u', ARGV[i])
end
local ms = tonumber(string.match(last, '^(%d+)'))
local minid = tostring(ms - tonumber(ARGV[1])) .. '-0'
local floor = false
local old = redis.call('XREVRANGE', KEYS[1], '(' .. minid, '-', 'COUNT', 1)
if #old > 0 then
  floor = old[1][1]
  redis.call('XTRIM', KEYS[1], 'MINID', minid)
end
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then
  local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  floor = gone[#gone][1]
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
end
if floor then
  redis.call('HSET', KEYS[2], 'last', last, 'floor', floor)
else
  redis.call('HSET', KEYS[2], 'last', last)
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return last
"""


class RedisFeed:
    """The Feed port: publishes after commits, on the service's Redis client."""

    def __init__(
        self,
        client: RedisClient,
        prefix: str,
        encode: Encode,
        *,
        retention_seconds: float,
        max_length: int,
        timeout_seconds: float,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._encode = encode
        self._retention_ms = int(retention_seconds * 1000)
        self._max_length = max_length
        self._timeout = timeout_seconds
        self._script = client.register_script(_ADD)

    async def publish(self, user_id: str, updates: Sequence[Stamped]) -> None:
        await self.publish_many({user_id: updates})

    async def publish_many(self, updates: Mapping[str, Sequence[Stamped]]) -> None:
        calls = [(self._keys(user), self._args(items)) for user, items in updates.items() if items]
        if not calls:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._add(calls)
        except (RedisError, OSError, TimeoutError) as exc:
            # The change is committed; the app reads the state again on its next gap.
            log.warning("live updates of %d users not published: %r", len(calls), exc)

    async def boards_changed(self, keys: Collection[BoardKey]) -> None:
        if not keys:
            return
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            name = live_board_key(
                self._prefix, key.board_id, key.partition, key.period_id, key.rookie
            )
            pipe.incr(name)
            pipe.pexpire(name, BOARD_SIGNAL_TTL_MS)
        try:
            async with asyncio.timeout(self._timeout):
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("rank watchers of %d boards not told: %r", len(keys), exc)

    async def erase(self, user_id: str) -> None:
        # One slot: both keys share the user's hash tag.
        await self._client.delete(*self._keys(user_id))

    def _keys(self, user_id: str) -> list[str]:
        return [live_feed_key(self._prefix, user_id), live_meta_key(self._prefix, user_id)]

    def _args(self, items: Sequence[Stamped]) -> list[Any]:
        return [self._retention_ms, self._max_length, *(self._encode(item) for item in items)]

    async def _add(self, calls: list[tuple[list[str], list[Any]]]) -> None:
        """Each call once: on a cluster concurrently, else in one pipeline in which only the
        calls refused with NOSCRIPT (so never run) are sent again."""
        if isinstance(self._client, RedisCluster) or len(calls) == 1:
            await asyncio.gather(*(self._script(keys=k, args=a) for k, a in calls))
            return
        client = self._client
        for _attempt in range(2):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            answers = await pipe.execute(raise_on_error=False)
            failed = [c for c, a in zip(calls, answers, strict=True) if isinstance(a, Exception)]
            if not failed:
                return
            if not all(isinstance(a, NoScriptError) for a in answers if isinstance(a, Exception)):
                raise next(a for a in answers if isinstance(a, Exception))
            await client.script_load(_ADD)
            calls = failed
        raise RedisError("the live feed script could not be loaded")


class RedisFeedReader:
    """The FeedReader port, on a client of its own whose pool holds a connection for every
    stream the process may serve: blocking reads never wait for, or starve, other calls."""

    def __init__(self, client: RedisClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    async def state(self, user_id: str) -> FeedState:
        meta = live_meta_key(self._prefix, user_id)
        last, floor = await self._client.hmget(meta, ["last", "floor"])
        seconds, micros = await self._client.time()
        return FeedState(
            exists=last is not None,
            last=_text(last),
            floor=_text(floor),
            now_ms=int(seconds) * 1000 + int(micros) // 1000,
        )

    async def read(self, user_id: str, after: str, block_ms: int) -> list[FeedEntry]:
        key = live_feed_key(self._prefix, user_id)
        found: Any = await self._client.xread({key: after}, count=READ_COUNT, block=block_ms)
        if not found:
            return []
        # RESP2 answers [[key, entries]]; RESP3 a mapping of key to [entries].
        entries = found[0][1] if isinstance(found, list) else next(iter(found.values()))[0]
        return [FeedEntry(_text(entry_id), fields[BODY]) for entry_id, fields in entries]

    async def floor(self, user_id: str) -> str:
        return _text(await self._client.hget(live_meta_key(self._prefix, user_id), "floor"))

    async def board_versions(self, keys: Sequence[BoardKey]) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.get(
                live_board_key(self._prefix, key.board_id, key.partition, key.period_id, key.rookie)
            )
        return [int(value or 0) for value in await pipe.execute()]

    def connections_in_use(self) -> int:
        """Connections taken from the pool now (one per blocking read under way)."""
        if isinstance(self._client, RedisCluster):
            return sum(
                len(node._connections) - len(node._free) for node in self._client.get_nodes()
            )
        return len(self._client.connection_pool._in_use_connections)

    async def aclose(self) -> None:
        await self._client.aclose()


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
