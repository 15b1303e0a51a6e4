"""Token buckets in Redis, one Lua call per check: per user and per credential."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisError

from leaderboard.scripts import RedisClient, run, run_many
from service.app.ports import Clock
from service.redis_keys import rate_limit_key

log = logging.getLogger(__name__)

# KEYS: the buckets; ARGV: now in ms, then rate per second and burst for each bucket.
# A bucket holds up to `burst` tokens and gains `rate` a second; a call takes one token from
# every bucket, or none when one of them holds less than one. It answers {0, 0} when taken,
# else {the 1-based index of the first short bucket, ms until it holds a token}. A clock that
# went back (another replica's) never takes tokens away.
TOKEN_BUCKET = """
local now = tonumber(ARGV[1])
local levels, stamps = {}, {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 't', 'at')
  local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
  if now > at then
    tokens = math.min(burst, tokens + (now - at) * rate / 1000)
    at = now
  end
  if tokens < 1 then
    return {i, math.ceil((1 - tokens) * 1000 / rate)}
  end
  levels[i], stamps[i] = tokens - 1, at
end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 't', tostring(levels[i]), 'at', stamps[i])
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
end
return {0, 0}
"""

_REDIS_DOWN = (RedisError, OSError, TimeoutError)
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Rate:
    """A bucket's refill rate per second and capacity; either at 0 turns the bucket off."""

    per_second: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst > 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call over a limit: which bucket (`user` or `credential`) and when to retry."""

    bucket: str
    retry_after_seconds: float


@dataclass(frozen=True, slots=True)
class _Bucket:
    kind: str
    key: str
    rate: Rate


class RateLimits:
    """Checks the buckets of a call in one Redis round trip; fails open when Redis is down.

    Failing open keeps the service answering through a Redis outage (most RPCs need only
    Postgres); the limits are a guard against overload and abuse, not a quota to account.
    """

    def __init__(
        self, client: RedisClient, prefix: str, clock: Clock, *, user: Rate, credential: Rate
    ) -> None:
        self._client, self._prefix, self._clock = client, prefix, clock
        self._user, self._credential = user, credential
        self._warned_at = -WARN_EVERY_SECONDS
        self._failures = 0

    @property
    def enabled(self) -> bool:
        return self._user.enabled or self._credential.enabled

    async def check(self, user_id: str, credential: str) -> Refusal | None:
        """Take a token for the call of `user_id` (may be "") with `credential`."""
        buckets = []
        if user_id and self._user.enabled:
            key = rate_limit_key(self._prefix, "user", user_id)
            buckets.append(_Bucket("user", key, self._user))
        if credential and self._credential.enabled:
            key = rate_limit_key(self._prefix, "credential", credential)
            buckets.append(_Bucket("credential", key, self._credential))
        if not buckets:
            return None
        try:
            return await self._take(buckets)
        except _REDIS_DOWN as exc:
            self._warn(exc)
            return None

    async def _take(self, buckets: Sequence[_Bucket]) -> Refusal | None:
        now_ms = int(self._clock.now().timestamp() * 1000)
        if len(buckets) == 1 or not _cluster(self._client) or _one_slot(buckets):
            answer = await run(self._client, TOKEN_BUCKET, *_call(buckets, now_ms))
            return _refusal(buckets, answer)
        # Slots apart on a cluster: a call per bucket, sent together.
        answers = await run_many(self._client, TOKEN_BUCKET, [_call([b], now_ms) for b in buckets])
        refusals = [_refusal([b], a) for b, a in zip(buckets, answers, strict=True)]
        return next((r for r in refusals if r is not None), None)

    def _warn(self, exc: BaseException) -> None:
        """At most one warning a minute, with the number of checks skipped meanwhile."""
        self._failures += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            log.warning(
                "rate limits not checked, calls let through (%d since the last warning): %r",
                self._failures,
                exc,
            )
            self._warned_at, self._failures = now, 0


def _cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def _one_slot(buckets: Sequence[_Bucket]) -> bool:
    return len({key_slot(b.key.encode()) for b in buckets}) == 1


def _call(buckets: Sequence[_Bucket], now_ms: int) -> tuple[list[str], list[str | int]]:
    args: list[str | int] = [now_ms]
    for bucket in buckets:
        args += [repr(bucket.rate.per_second), bucket.rate.burst]
    return [b.key for b in buckets], args


def _refusal(buckets: Sequence[_Bucket], answer: Sequence[int]) -> Refusal | None:
    index, wait_ms = int(answer[0]), int(answer[1])
    if index == 0:
        return None
    return Refusal(buckets[index - 1].kind, wait_ms / 1000)
