"""Seeding both libraries' boards and measuring each operation on them."""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis

from bench.leaderboard.measure import (
    AROUND_SIZE,
    DAY_MS,
    OUR_KEYS,
    PEER_SEED_BATCH,
    PICKS,
    TOP_SIZE,
    Latency,
    OursOp,
    Rate,
    Row,
    SizeResult,
    measure_async,
    measure_sync,
    member,
    progress,
)
from bench.leaderboard.peer import PEER_FILE, PeerBoard, load_peer
from leaderboard import BoardConfig, Leaderboard, Leaderboards, LoadEntry


class Bench:
    """One run: the clients, the per-run key names, and what has been measured."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:10]
        self.prefix = f"lbbench-{self.run_id}"  # ours: keys are `{lbbench-<id>:board:period}:*`
        self.peer_prefix = f"lbbench-{self.run_id}-peer"  # the peer's: `<this>-<size>[:...]`
        # One connection used one call at a time: the sequential figures.
        self.ours_client = aioredis.Redis.from_url(args.redis_url, max_connections=1)
        self.wide_client = aioredis.Redis.from_url(args.redis_url, max_connections=args.concurrency)
        self.admin = aioredis.Redis.from_url(args.redis_url)
        self.peer_client = redis.Redis.from_url(args.redis_url)
        self.peer_class = load_peer(PEER_FILE)
        self.rng = random.Random(20240601)
        self.config = BoardConfig(board_id="bench")

    async def close(self) -> None:
        for client in (self.ours_client, self.wide_client, self.admin):
            await client.aclose()
        self.peer_client.close()

    async def cleanup(self) -> int:
        """UNLINK every key of this run (a non-blocking DEL; big sorted sets free off-thread)."""
        removed = 0
        for pattern in (f"{{{self.prefix}:*", f"{self.peer_prefix}-*"):
            keys = [key async for key in self.admin.scan_iter(match=pattern, count=1000)]
            for start in range(0, len(keys), 500):
                removed += int(await self.admin.unlink(*keys[start : start + 500]))
        return removed

    async def ping(self) -> tuple[Rate, Rate, Rate]:
        seconds = self.args.seconds
        ours_seq = await measure_async(lambda _: self.ours_client.ping(), seconds, 1, self.admin)
        ours_wide = await measure_async(
            lambda _: self.wide_client.ping(), seconds, self.args.concurrency, self.admin
        )
        peer_seq = await measure_sync(lambda _: self.peer_client.ping(), seconds, self.admin)
        return ours_seq, peer_seq, ours_wide

    def _entries(self, size: int) -> tuple[list[LoadEntry], int]:
        """Members user-0000000.. with uniform random scores 0..999999 and reached times."""
        base_ms = 1_767_225_600_000  # 2026-01-01 UTC
        scores = [self.rng.randrange(1_000_000) for _ in range(size)]
        entries = [
            LoadEntry(member(i), score, base_ms + self.rng.randrange(DAY_MS))
            for i, score in enumerate(scores)
        ]
        return entries, len(set(scores))

    async def size(self, size: int) -> SizeResult:
        entries, distinct = self._entries(size)
        ours = Leaderboards(self.ours_client, key_prefix=self.prefix).period(
            self.config, f"n{size}"
        )
        wide = Leaderboards(self.wide_client, key_prefix=self.prefix).period(
            self.config, f"n{size}"
        )
        peer_name = f"{self.peer_prefix}-{size}"
        peer = self.peer_class(peer_name, redis_connection=self.peer_client)

        started = time.perf_counter()
        loaded = await ours.load(entries)
        load_seconds = time.perf_counter() - started
        if loaded != size:
            raise SystemExit(f"load reported {loaded} members, expected {size}")

        started = time.perf_counter()
        for first in range(0, size, PEER_SEED_BATCH):
            flat: list[str | int] = []
            for entry in entries[first : first + PEER_SEED_BATCH]:
                flat += [entry.member_id, entry.score]
            peer.rank_members(flat)
        peer_seed_seconds = time.perf_counter() - started
        del entries

        result = SizeResult(
            size,
            distinct,
            load_seconds,
            peer_seed_seconds,
            await self._memory(dict(zip(OUR_KEYS, ours.keys.data, strict=True))),
            await self._memory({"zset": peer_name, "member_data": f"{peer_name}:member_data"}),
        )
        picks = [member(self.rng.randrange(size)) for _ in range(PICKS)]
        await self._operations(result, ours, wide, peer, picks)
        return result

    async def _memory(self, keys: dict[str, str]) -> dict[str, int]:
        usage: dict[str, int] = {}
        for label, key in keys.items():
            # SAMPLES 0 walks every element, so the figure is exact rather than an estimate.
            used = await self.admin.memory_usage(key, samples=0)
            usage[label] = int(used or 0)
        return usage

    async def _operations(
        self,
        result: SizeResult,
        ours: Leaderboard,
        wide: Leaderboard,
        peer: PeerBoard,
        picks: list[str],
    ) -> None:
        mask = PICKS - 1
        seconds, concurrency = self.args.seconds, self.args.concurrency
        at_ms = 1_767_312_000_000

        def pick(i: int) -> str:
            return picks[i & mask]

        def rank(board: Leaderboard) -> Callable[[int], Awaitable[object]]:
            return lambda i: board.rank_of(pick(i))

        def around(board: Leaderboard) -> Callable[[int], Awaitable[object]]:
            return lambda i: board.around(pick(i), AROUND_SIZE)

        def top(board: Leaderboard) -> Callable[[int], Awaitable[object]]:
            return lambda _: board.top(TOP_SIZE)

        def submit(board: Leaderboard) -> Callable[[int], Awaitable[object]]:
            return lambda i: board.submit(pick(i), 1 + i % 100, at_ms=at_ms + i)

        # Reads first, on the board exactly as loaded; submissions last.
        ops: list[tuple[str, OursOp, Callable[[int], object], float | None]] = [
            ("rank", rank, lambda i: peer.score_and_rank_for(pick(i)), 1.5),
            ("rank (peer: rank only)", rank, lambda i: peer.rank_for(pick(i)), 1.5),
            (
                f"around-me {AROUND_SIZE}",
                around,
                lambda i: peer.around_me(pick(i), page_size=AROUND_SIZE),
                4.0,
            ),
            (f"top {TOP_SIZE}", top, lambda _: peer.top(TOP_SIZE), None),
            ("submit", submit, lambda i: peer.change_score_for(pick(i), 1 + i % 100), 1.5),
        ]
        ours_rank: tuple[Rate, Rate | None] | None = None
        for name, ours_op, peer_op, target in ops:
            if name.startswith("rank (peer") and ours_rank is not None:
                ours_seq, ours_wide = ours_rank  # the same call of ours; only the peer differs
            else:
                ours_seq = await measure_async(ours_op(ours), seconds, 1, self.admin)
                ours_wide = None
                if concurrency > 1:
                    ours_wide = await measure_async(ours_op(wide), seconds, concurrency, self.admin)
                if name == "rank":
                    ours_rank = (ours_seq, ours_wide)
            peer_seq = await measure_sync(peer_op, seconds, self.admin)
            result.rows.append(Row(result.size, name, ours_seq, peer_seq, ours_wide, target))
            progress(f"  {result.size} {name}: done")

    async def rank_latency(self, size: int) -> tuple[Latency, Latency]:
        """Single-call latency of our rank_of and the peer's score_and_rank_for, sequential."""
        board = Leaderboards(self.ours_client, key_prefix=self.prefix).period(
            self.config, f"n{size}"
        )
        peer = self.peer_class(f"{self.peer_prefix}-{size}", redis_connection=self.peer_client)
        members = [member(self.rng.randrange(size)) for _ in range(self.args.rank_samples)]
        ours_ns: list[int] = []
        for sampled in members:
            started = time.perf_counter_ns()
            await board.rank_of(sampled)
            ours_ns.append(time.perf_counter_ns() - started)
        peer_ns: list[int] = []
        for sampled in members:
            started = time.perf_counter_ns()
            peer.score_and_rank_for(sampled)
            peer_ns.append(time.perf_counter_ns() - started)
        return Latency.of(ours_ns), Latency.of(peer_ns)

    async def delete_size(self, size: int) -> None:
        board = Leaderboards(self.admin, key_prefix=self.prefix).period(self.config, f"n{size}")
        await board.delete()
        peer_name = f"{self.peer_prefix}-{size}"
        await self.admin.unlink(peer_name, f"{peer_name}:member_data")
