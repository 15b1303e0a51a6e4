"""`make bench-scale`: a 10M-member board in Redis, and finalising a 1M-member period.

Redis: loads `--members` members into one board-period with the library's bulk load, reports
the load rate, the memory each member takes (the growth of Redis's `used_memory`) and the
longest pause the load caused (from Redis's slow log, which keeps commands over 10 ms), then
times `--samples` rank reads one at a time against the same number of PINGs (the no-op round
trip) from the same run, with the server's own time per read. Postgres: stores
`--final-members` scores for yesterday's period of a daily board with a reward table, then
times the service's finalisation of it (the standings snapshot, the rank rewards and the
outbox). Uses the configured stores (ENGAGEMENT_DATABASE_URL, ENGAGEMENT_REDIS_URL) or
embedded ones; use scratch ones, as the run leaves its board definition behind.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

import leaderboard as lb
from bench.leaderboard.measure import Latency
from bench.populate import FILL_SCORES
from bench.run import _stores
from service.app.boards import definitions as boards
from service.app.boards import periods as board_periods
from service.app.boards.mapping import BoardRef, period_at
from service.bootstrap import App, build_app
from service.domain.boards import (
    Aggregation,
    BoardDefinition,
    PeriodKind,
    RankReward,
    SortOrder,
    TiePolicy,
)
from service.domain.rewards import Reward, RewardKind
from service.settings import Settings, load_settings

DAY_MS = 86_400_000


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--members", type=int, default=10_000_000, help="Redis board size")
    parser.add_argument("--samples", type=int, default=20_000, help="rank reads timed")
    parser.add_argument("--final-members", type=int, default=1_000_000, help="period finalised")
    return parser.parse_args()


def _percentiles(latencies_ns: list[int]) -> str:
    found = Latency.of(latencies_ns)
    return f"p50 {found.p50_ms:.3f} ms, p99 {found.p99_ms:.3f} ms, p99.9 {found.p999_ms:.3f} ms"


async def _timed(call: Callable[[int], Awaitable[object]], samples: int) -> list[int]:
    latencies = []
    for i in range(samples):
        started = time.perf_counter_ns()
        await call(i)
        latencies.append(time.perf_counter_ns() - started)
    return latencies


def _entries(members: int) -> Iterator[lb.LoadEntry]:
    """Member ids of 12 characters, scores over 0..999,999, reached times over one day."""
    rng = random.Random(7)
    base_ms = 1_767_225_600_000  # 2026-01-01 UTC
    for i in range(members):
        yield lb.LoadEntry(
            f"user-{i:07d}", rng.randrange(1_000_000), base_ms + rng.randrange(DAY_MS)
        )


async def _redis_scale(url: str, members: int, samples: int) -> None:
    client = aioredis.Redis.from_url(url)
    prefix = f"scale-{uuid.uuid4().hex[:8]}"
    board = lb.Leaderboards(client, key_prefix=prefix).period(lb.BoardConfig("scale"), "all")
    try:
        before = int((await client.info("memory"))["used_memory"])
        started, since = time.perf_counter(), int(time.time())
        loaded = await board.load(_entries(members), chunk_size=5_000)
        seconds = time.perf_counter() - started
        used = int((await client.info("memory"))["used_memory"]) - before
        print(f"loaded {loaded:,} members in {seconds:.1f} s ({loaded / seconds:,.0f}/s)")
        print(f"Redis memory: {used / loaded:.1f} bytes per member ({used / 2**20:,.0f} MiB)")
        pause = await _longest_ms(client, since)
        print(f"longest Redis pause of the load (a chunk or the swap): {pause}")
        picks = [f"user-{random.Random(i).randrange(members):07d}" for i in range(samples)]

        async def rank(i: int) -> object:
            return await board.rank_of(picks[i])

        await _timed(rank, min(samples, 1_000))  # warm up
        pings = await _timed(lambda _: client.ping(), samples)
        await client.config_resetstat()
        ranks = await _timed(rank, samples)
        stats = await client.info("commandstats")
        server_us = stats["cmdstat_evalsha"]["usec_per_call"]
        print(f"PING (no-op round trip), {samples:,} one at a time: {_percentiles(pings)}")
        print(f"rank_of at {loaded:,} members, one at a time: {_percentiles(ranks)}")
        print(f"rank_of Redis server time: {server_us:.1f} µs per call")
    finally:
        since = int(time.time())
        await board.delete()
        print(f"longest Redis pause of the delete: {await _longest_ms(client, since)}")
        await client.aclose()


async def _longest_ms(client: aioredis.Redis, since: int) -> str:
    """The longest command Redis's slow log holds since `since` (Unix s), if any was slow."""
    durations = [
        entry["duration"] for entry in await client.slowlog_get(128)
        if entry["start_time"] >= since
    ]  # fmt: skip
    return f"{max(durations) / 1000:,.1f} ms" if durations else "none in the slow log"


def _daily_board(board_id: str) -> BoardDefinition:
    points = (Reward(RewardKind.POINTS, 100),)
    return BoardDefinition(
        board_id, "Scale daily", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM,
        TiePolicy.FIRST_TO_REACH, PeriodKind.DAILY,
        rewards=(RankReward(1, 10, points), RankReward(11, 100, points)),
    )  # fmt: skip


_KEY = sa.text(
    "insert into board_period_keys (board_id, period_id, partition, rookie) "
    "values (:board, :period, '', false)"
)


async def _finalise(app: App, members: int) -> None:
    board = _daily_board(f"scale-{uuid.uuid4().hex[:8]}")
    await boards.upsert_board(board, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    period = period_at(board, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    assert period.start is not None
    values = {
        "board": board.board_id, "partition": "", "period": period.period_id, "prefix": "user-",
        "first": 1, "last": members, "start_ms": int(period.start.timestamp() * 1000),
    }  # fmt: skip
    # Not on the service's engine: its statement timeout is meant for requests.
    engine = create_async_engine(app.engine.url)
    try:
        async with engine.begin() as conn:
            await conn.execute(FILL_SCORES, values)
            await conn.execute(_KEY, values)
    finally:
        await engine.dispose()
    started = time.perf_counter()
    done = await board_periods.finalize_period(
        BoardRef(board.board_id, period_id=period.period_id), uow=app.uow(), boards=app.boards
    )
    seconds = time.perf_counter() - started
    print(
        f"finalised period {done.period_id} of {done.members:,} members in {seconds:.1f} s "
        f"({done.grants} rank rewards queued)"
    )


async def _postgres_scale(members: int) -> None:
    app = build_app(load_settings(Settings))
    try:
        await _finalise(app, members)
    finally:
        await app.close()


def main() -> int:
    args = _arguments()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    with _stores() as (database, redis_url):
        print(f"$ python -m bench.scale {' '.join(sys.argv[1:])}".rstrip())
        asyncio.run(_redis_scale(redis_url, args.members, args.samples))
        env = {"ENGAGEMENT_DATABASE_URL": database, "ENGAGEMENT_REDIS_URL": redis_url}
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "service", "migrate"], check=True)
        asyncio.run(_postgres_scale(args.final_members))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
