"""The loyalty sink as a Redis stream: XADD of the loyalty.v1 grant fields, for consumer groups.

A Lua script adds a batch in order and skips grant ids added within the dedup window, so a
redelivery answers "duplicate" as the gRPC contract does. Consumers still deduplicate on
grant_id: the window is finite. Key names of this sink are spelled here only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from service.adapters.loyalty.codec import occurred_at_of, stream_fields
from service.app.grants.ports import LoyaltyUnavailable
from service.domain.grant_delivery import DeliveryOutcome, DeliveryResult, OutboxGrant
from service.redis_keys import seen_key

FIELDS = ("grant_id", "user_id", "kind", "amount", "item_code", "reason", "cause_ref",
          "occurred_at", "expires_at")  # fmt: skip
# Stream ids are the delivery time; a grant is delivered after it occurred, give or take
# the clock skew between the service and Redis.
_CLOCK_SKEW_MS = 60_000
_SCAN_PAGE = 1000

# KEYS: stream, seen set. ARGV: now ms, dedup window ms, maxlen (0: no trim), then for each
# grant the values of FIELDS. Returns 1 (added) or 0 (duplicate) per grant.
_ADD_GRANTS = """
local now, window, maxlen = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local names = {'grant_id','user_id','kind','amount','item_code','reason','cause_ref','occurred_at',
               'expires_at'}
local n = #names
if window > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window) end
local out = {}
for i = 4, #ARGV, n do
  local id = ARGV[i]
  if window > 0 and redis.call('ZSCORE', KEYS[2], id) then
    out[#out + 1] = 0
  else
    local args = {KEYS[1]}
    if maxlen > 0 then args[#args+1] = 'MAXLEN'; args[#args+1] = '~'; args[#args+1] = maxlen end
    args[#args + 1] = '*'
    for j = 1, n do args[#args + 1] = names[j]; args[#args + 1] = ARGV[i + j - 1] end
    redis.call('XADD', unpack(args))
    if window > 0 then redis.call('ZADD', KEYS[2], now, id) end
    out[#out + 1] = 1
  end
end
return out
"""


class RedisStreamSink:
    """Implements the LoyaltySink port with XADD; `received_ids` scans the stream."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        stream: str,
        *,
        timeout_seconds: float,
        maxlen: int = 0,
        dedup_seconds: float = 86400.0,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._stream = stream
        self._timeout = timeout_seconds
        self._maxlen = maxlen
        self._dedup_ms = int(dedup_seconds * 1000)
        self._owns_client = owns_client
        self._script = client.register_script(_ADD_GRANTS)

    @property
    def stream(self) -> str:
        return self._stream

    async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
        args: list[str | int] = [int(time.time() * 1000), self._dedup_ms, self._maxlen]
        for item in grants:
            fields = stream_fields(item)
            args.extend(fields[name] for name in FIELDS)
        keys = [self._stream, seen_key(self._stream)]
        try:
            async with asyncio.timeout(self._timeout):
                added = await self._script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            raise LoyaltyUnavailable(f"loyalty stream XADD failed: {exc!r}") from exc
        return [
            DeliveryResult(
                item.grant.idempotency_key,
                DeliveryOutcome.ACCEPTED if flag else DeliveryOutcome.DUPLICATE,
            )
            for item, flag in zip(grants, added, strict=True)
        ]

    async def received_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        cursor = f"{max(0, int(start.timestamp() * 1000) - _CLOCK_SKEW_MS)}-0"
        ids: set[str] = set()
        while len(ids) <= limit:
            page = await self._page(cursor)
            for _entry_id, fields in page:
                occurred = occurred_at_of(fields)
                if occurred is not None and start <= occurred < end:
                    ids.add(fields[b"grant_id"].decode())
            if len(page) < _SCAN_PAGE:
                break
            cursor = "(" + page[-1][0].decode()
        return ids

    async def _page(self, cursor: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Up to _SCAN_PAGE stream entries from `cursor` on (XRANGE; "(" excludes it)."""
        try:
            async with asyncio.timeout(self._timeout):
                page = await self._client.xrange(self._stream, cursor, "+", count=_SCAN_PAGE)
        except (RedisError, OSError, TimeoutError) as exc:
            raise LoyaltyUnavailable(f"loyalty stream XRANGE failed: {exc!r}") from exc
        return cast(list[tuple[bytes, dict[bytes, bytes]]], page)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
