"""Rates, latencies and Redis server time of the calls the benchmark makes."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from leaderboard import Leaderboard

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
AROUND_SIZE = 25
TOP_SIZE = 100
PEER_SEED_BATCH = 10_000
PICKS = 1 << 16  # random member ids drawn once, shared by both libraries
WARMUP_CALLS = 200
DAY_MS = 86_400_000
# Commands whose time already counts in the commands they wrap (or that are this script's own).
WRAPPERS = {"exec", "multi", "info", "evalsha", "eval", "script|load", "memory|usage", "scan"}


@dataclass(frozen=True, slots=True)
class Rate:
    """Calls done in a timed window, and the Redis server time they took (commandstats)."""

    calls: int
    seconds: float
    server_us: float  # per call
    inner: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # cmd: (calls, us)/op

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Row:
    size: int
    operation: str
    ours: Rate
    peer: Rate
    ours_concurrent: Rate | None
    target: float | None  # the ratio ours/peer we aim for (see the report)


@dataclass
class SizeResult:
    size: int
    distinct_scores: int
    load_seconds: float
    peer_seed_seconds: float
    ours_memory: dict[str, int]
    peer_memory: dict[str, int]
    rows: list[Row] = field(default_factory=list)


Stats = dict[str, tuple[int, int]]
OursOp = Callable[[Leaderboard], Callable[[int], Awaitable[object]]]


async def commandstats(client: aioredis.Redis) -> Stats:
    raw: dict[str, Any] = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): (int(value["calls"]), int(value["usec"]))
        for name, value in raw.items()
    }


def server_time(before: Stats, after: Stats, calls: int, *, scripted: bool) -> Rate:
    """Server µs per call: EVALSHA's own time for ours, the sum of plain commands for the peer.

    Redis 7 also counts the commands a script calls, so for ours they come back as `inner`.
    """
    deltas = {
        name: (count - before.get(name, (0, 0))[0], usec - before.get(name, (0, 0))[1])
        for name, (count, usec) in after.items()
    }
    deltas = {name: delta for name, delta in deltas.items() if delta[0] > 0}
    per = max(calls, 1)
    if scripted:
        total = deltas.get("evalsha", (0, 0))[1]
    else:
        total = sum(usec for name, (_, usec) in deltas.items() if name not in WRAPPERS)
    inner = {
        name: (count / per, usec / per)
        for name, (count, usec) in deltas.items()
        if name not in WRAPPERS
    }
    return Rate(calls, 0.0, total / per, inner)


async def measure_async(
    op: Callable[[int], Awaitable[object]],
    seconds: float,
    concurrency: int,
    stats: aioredis.Redis,
    *,
    scripted: bool = True,
) -> Rate:
    async def warm(first: int) -> None:
        # Concurrently, so a pool opens all its connections before the clock starts.
        for i in range(first, WARMUP_CALLS + concurrency, concurrency):
            await op(i)

    await asyncio.gather(*(warm(w) for w in range(concurrency)))
    before = await commandstats(stats)
    calls = 0
    deadline = time.perf_counter() + seconds

    async def worker(first: int) -> None:
        nonlocal calls
        i = first
        while time.perf_counter() < deadline:
            await op(i)
            i += concurrency
            calls += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    server = server_time(before, await commandstats(stats), calls, scripted=scripted)
    return Rate(calls, elapsed, server.server_us, server.inner)


async def measure_sync(op: Callable[[int], object], seconds: float, stats: aioredis.Redis) -> Rate:
    for i in range(WARMUP_CALLS):
        op(i)
    before = await commandstats(stats)
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        op(calls)
        calls += 1
    elapsed = time.perf_counter() - started
    server = server_time(before, await commandstats(stats), calls, scripted=False)
    return Rate(calls, elapsed, server.server_us, server.inner)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True, slots=True)
class Latency:
    samples: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_ns: list[int]) -> Latency:
        ordered = sorted(ns / 1e6 for ns in latencies_ns)
        return cls(
            len(ordered),
            percentile(ordered, 0.50),
            percentile(ordered, 0.99),
            percentile(ordered, 0.999),
            ordered[-1],
        )


OUR_KEYS = ("scores", "members", "distinct", "refcount", "metadata")


def member(index: int) -> str:
    return f"user-{index:07d}"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
