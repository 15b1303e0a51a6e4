"""`make bench-leaderboard`: our `leaderboard` library beside agoragames' leaderboard 3.7.3.

Both libraries run on the same Redis in the same run, on boards of the same members and scores,
and one table prints each operation's rate for both with their ratio, beside a no-op round trip
(PING) measured in the same run (GUIDE section 7). Also: our bulk load rate, Redis memory per
member, and the single-call latency of `rank_of` at the largest size.

Fairness: the headline rates are sequential, one client on one connection, one call at a time
(no pipelining across calls) for both: ours through `redis.asyncio` (as the service uses it),
the peer through its synchronous `redis.Redis`. Ours at `--concurrency` tasks is extra
information. Every key this run creates carries a per-run id and is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import shlex
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis

from leaderboard import BoardConfig, Leaderboard, Leaderboards, LoadEntry

PEER_VERSION = "3.7.3"
# The PyPI distribution `leaderboard` 3.7.3 is agoragames' (github.com/agoragames/leaderboard-
# python), and its import name is `leaderboard`: the same as our package at the repo root. It is
# NOT installed into the venv: a second top-level `leaderboard` in site-packages would shadow our
# editable install (setuptools' editable finder runs after site-packages) for every process not
# started from the repo root, tests and the service included. `make bench-leaderboard` installs it
# with `uv pip install --target .tools/peer --no-deps` instead, a folder never on sys.path, and
# `_load_peer` executes its one module file under the alias `agoragames_leaderboard`. That file
# imports only redis and the standard library, so nothing else of it has to be importable.
PEER_FILE = Path(__file__).resolve().parents[1] / ".tools/peer/leaderboard/leaderboard.py"
PEER_ALIAS = "agoragames_leaderboard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
AROUND_SIZE = 25
TOP_SIZE = 100
PEER_SEED_BATCH = 10_000
PICKS = 1 << 16  # random member ids drawn once, shared by both libraries
WARMUP_CALLS = 200
DAY_MS = 86_400_000
# Commands whose time already counts in the commands they wrap (or that are this script's own).
_WRAPPERS = {"exec", "multi", "info", "evalsha", "eval", "script|load", "memory|usage", "scan"}


class PeerBoard(Protocol):
    """The part of agoragames' (untyped) `Leaderboard` this benchmark calls."""

    def rank_members(self, members_and_scores: list[str | int]) -> None: ...
    def change_score_for(self, member: str, delta: int) -> None: ...
    def score_and_rank_for(self, member: str) -> dict[str, object]: ...
    def rank_for(self, member: str) -> int | None: ...
    def around_me(self, member: str, *, page_size: int) -> list[dict[str, object]]: ...
    def top(self, number: int) -> list[dict[str, object]]: ...


def _load_peer(path: Path) -> Callable[..., PeerBoard]:
    """agoragames' `Leaderboard`, under an alias, with its writes fixed for redis-py >= 3."""
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run `make bench-leaderboard`, which installs it")
    spec = importlib.util.spec_from_file_location(PEER_ALIAS, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[PEER_ALIAS] = module
    spec.loader.exec_module(module)
    base: Any = module.Leaderboard
    if base.VERSION != PEER_VERSION:
        raise SystemExit(f"{path} is leaderboard {base.VERSION}, expected {PEER_VERSION}")
    grouper: Any = module.grouper

    class FixedPeer(base):  # type: ignore[misc]  # the peer is untyped
        """Only the writes this benchmark calls, each as the original with the one call fixed.

        redis-py 3+ takes ZADD's members as a mapping and ZINCRBY as (name, amount, member);
        3.7.3 passes the 2.x positional forms. Its reads work unchanged and are not touched.
        """

        def rank_members_in(self, leaderboard_name: str, members_and_scores: list[Any]) -> None:
            pipeline = self.redis_connection.pipeline()
            for member, score in grouper(2, members_and_scores):
                pipeline.zadd(leaderboard_name, {member: score})
            pipeline.execute()

        def change_score_for_member_in(
            self, leaderboard_name: str, member: str, delta: float, member_data: Any = None
        ) -> None:
            pipeline = self.redis_connection.pipeline()
            pipeline.zincrby(leaderboard_name, delta, member)
            if member_data:
                pipeline.hset(self._member_data_key(leaderboard_name), member, member_data)
            pipeline.execute()

    return cast(Callable[..., PeerBoard], FixedPeer)


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
    target: float | None  # the ratio ours/peer the product issue asks for


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


async def _commandstats(client: aioredis.Redis) -> Stats:
    raw: dict[str, Any] = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): (int(value["calls"]), int(value["usec"]))
        for name, value in raw.items()
    }


def _server_time(before: Stats, after: Stats, calls: int, *, scripted: bool) -> Rate:
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
        total = sum(usec for name, (_, usec) in deltas.items() if name not in _WRAPPERS)
    inner = {
        name: (count / per, usec / per)
        for name, (count, usec) in deltas.items()
        if name not in _WRAPPERS
    }
    return Rate(calls, 0.0, total / per, inner)


async def _measure_async(
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
    before = await _commandstats(stats)
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
    server = _server_time(before, await _commandstats(stats), calls, scripted=scripted)
    return Rate(calls, elapsed, server.server_us, server.inner)


async def _measure_sync(op: Callable[[int], object], seconds: float, stats: aioredis.Redis) -> Rate:
    for i in range(WARMUP_CALLS):
        op(i)
    before = await _commandstats(stats)
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        op(calls)
        calls += 1
    elapsed = time.perf_counter() - started
    server = _server_time(before, await _commandstats(stats), calls, scripted=False)
    return Rate(calls, elapsed, server.server_us, server.inner)


def _percentile(ordered: list[float], share: float) -> float:
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
            _percentile(ordered, 0.50),
            _percentile(ordered, 0.99),
            _percentile(ordered, 0.999),
            ordered[-1],
        )


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
        self.peer_class = _load_peer(PEER_FILE)
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
        ours_seq = await _measure_async(lambda _: self.ours_client.ping(), seconds, 1, self.admin)
        ours_wide = await _measure_async(
            lambda _: self.wide_client.ping(), seconds, self.args.concurrency, self.admin
        )
        peer_seq = await _measure_sync(lambda _: self.peer_client.ping(), seconds, self.admin)
        return ours_seq, peer_seq, ours_wide

    def _entries(self, size: int) -> tuple[list[LoadEntry], int]:
        """Members user-0000000.. with uniform random scores 0..999999 and reached times."""
        base_ms = 1_767_225_600_000  # 2026-01-01 UTC
        scores = [self.rng.randrange(1_000_000) for _ in range(size)]
        entries = [
            LoadEntry(_member(i), score, base_ms + self.rng.randrange(DAY_MS))
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
            await self._memory(dict(zip(_OUR_KEYS, ours.keys.data, strict=True))),
            await self._memory({"zset": peer_name, "member_data": f"{peer_name}:member_data"}),
        )
        picks = [_member(self.rng.randrange(size)) for _ in range(PICKS)]
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
                ours_seq = await _measure_async(ours_op(ours), seconds, 1, self.admin)
                ours_wide = None
                if concurrency > 1:
                    ours_wide = await _measure_async(
                        ours_op(wide), seconds, concurrency, self.admin
                    )
                if name == "rank":
                    ours_rank = (ours_seq, ours_wide)
            peer_seq = await _measure_sync(peer_op, seconds, self.admin)
            result.rows.append(Row(result.size, name, ours_seq, peer_seq, ours_wide, target))
            _progress(f"  {result.size} {name}: done")

    async def rank_latency(self, size: int) -> tuple[Latency, Latency]:
        """Single-call latency of our rank_of and the peer's score_and_rank_for, sequential."""
        board = Leaderboards(self.ours_client, key_prefix=self.prefix).period(
            self.config, f"n{size}"
        )
        peer = self.peer_class(f"{self.peer_prefix}-{size}", redis_connection=self.peer_client)
        members = [_member(self.rng.randrange(size)) for _ in range(self.args.rank_samples)]
        ours_ns: list[int] = []
        for member in members:
            started = time.perf_counter_ns()
            await board.rank_of(member)
            ours_ns.append(time.perf_counter_ns() - started)
        peer_ns: list[int] = []
        for member in members:
            started = time.perf_counter_ns()
            peer.score_and_rank_for(member)
            peer_ns.append(time.perf_counter_ns() - started)
        return Latency.of(ours_ns), Latency.of(peer_ns)

    async def delete_size(self, size: int) -> None:
        board = Leaderboards(self.admin, key_prefix=self.prefix).period(self.config, f"n{size}")
        keys = [*board.keys.data, board.keys.expiry, board.keys.revisions]
        peer_name = f"{self.peer_prefix}-{size}"
        await self.admin.unlink(*keys, peer_name, f"{peer_name}:member_data")


_OUR_KEYS = ("scores", "members", "distinct", "refcount", "metadata")


def _member(index: int) -> str:
    return f"user-{index:07d}"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.leaderboard",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        type=lambda text: [int(part) for part in text.split(",") if part],
        help="board sizes in members, comma-separated (default: 100000,1000000)",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="per operation, library and mode (default: 5)"
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("ENGAGEMENT_REDIS_URL") or DEFAULT_REDIS_URL,
        help=f"default: $ENGAGEMENT_REDIS_URL, else {DEFAULT_REDIS_URL}",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="tasks for the extra 'ours @N' column; 1 skips it (default: 32)",
    )
    parser.add_argument(
        "--rank-samples",
        type=int,
        default=30_000,
        help="rank_of calls timed one by one at the largest size (default: 30000)",
    )
    args = parser.parse_args()
    if not args.sizes or min(args.sizes) < 1 or args.concurrency < 1 or args.seconds <= 0:
        parser.error("--sizes, --concurrency and --seconds must be positive")
    return args


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _command(args: argparse.Namespace) -> str:
    options = [
        "--sizes",
        ",".join(str(size) for size in args.sizes),
        "--seconds",
        f"{args.seconds:g}",
        "--redis-url",
        _redacted(args.redis_url),
        "--concurrency",
        str(args.concurrency),
        "--rank-samples",
        str(args.rank_samples),
    ]
    return shlex.join(["python", "-m", "bench.leaderboard", *options])


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


@dataclass(frozen=True, slots=True)
class Report:
    args: argparse.Namespace
    info: Mapping[str, Any]
    pings: tuple[Rate, Rate, Rate]  # ours' client seq, the peer's client seq, ours' @N
    results: list[SizeResult]
    latency: tuple[int, Latency, Latency] | None
    wall_seconds: float

    def print(self) -> None:
        print()
        self._header()
        self._table()
        self._legend()
        self._load_and_memory()
        self._latency()
        self._server_breakdown()
        print()
        print(f"wall time {self.wall_seconds:.0f} s")

    def _header(self) -> None:
        args, info, n = self.args, self.info, self.args.concurrency
        print("Leaderboard benchmark: ours vs agoragames leaderboard 3.7.3, same Redis, same run")
        print(f"command: {_command(args)}")
        print(
            f"redis {info['redis_version']} at {_redacted(args.redis_url)}; redis-py"
            f" {redis.__version__}; python {sys.version.split()[0]}; {info['loop']};"
            f" {os.cpu_count()} CPUs, load average {info['load']} at start;"
            f" {args.seconds:g} s per measurement after {WARMUP_CALLS} warm-up calls"
        )
        print()
        print(
            "seq/s  = calls per second, one client, one connection, one call at a time, no"
            " pipelining across\n         calls: ours via redis.asyncio, the peer via its"
            " synchronous redis.Redis."
        )
        print(
            f"@{n}/s  = ours with {n} concurrent tasks on one redis.asyncio client ({n}"
            " connections); extra\n         information: the peer has no async mode."
        )
        print("srv us = Redis server time per call (INFO commandstats delta; EVALSHA for ours).")
        print("%PING  = seq/s as a share of the same client's sequential PING rate below.")
        print()
        ours_ping, peer_ping, wide_ping = self.pings
        print(
            f"PING (no-op round trip): ours' client seq {ours_ping.per_second:,.0f}/s, the"
            f" peer's client seq {peer_ping.per_second:,.0f}/s, ours' client @{n}"
            f" {wide_ping.per_second:,.0f}/s"
        )
        print()

    def _table(self) -> None:
        n = self.args.concurrency
        ours_ping, peer_ping, _ = self.pings
        header = (
            f"{'members':>9}  {'operation':<24}{'ours seq/s':>11}{'srv us':>8}{'%PING':>7}"
            f"{'peer seq/s':>12}{'srv us':>8}{'%PING':>7}{'ours/peer':>11}{'target':>15}"
            f"{f'ours @{n}/s':>13}"
        )
        print(header)
        print("-" * len(header))
        for result in self.results:
            for row in result.rows:
                ratio = row.ours.per_second / row.peer.per_second if row.peer.per_second else 0.0
                target = f">={row.target:g}x {_verdict(ratio >= row.target)}" if row.target else "-"
                wide = f"{row.ours_concurrent.per_second:,.0f}" if row.ours_concurrent else "-"
                print(
                    f"{row.size:>9,}  {row.operation:<24}{row.ours.per_second:>11,.0f}"
                    f"{row.ours.server_us:>8.1f}{row.ours.per_second / ours_ping.per_second:>7.0%}"
                    f"{row.peer.per_second:>12,.0f}{row.peer.server_us:>8.1f}"
                    f"{row.peer.per_second / peer_ping.per_second:>7.0%}{ratio:>10.2f}x"
                    f"{target:>15}{wide:>13}"
                )
        print()

    @staticmethod
    def _legend() -> None:
        print("What each call is:")
        print(
            "  rank       ours rank_of: 1 EVALSHA, returns rank, score, percentile, count,"
            " metadata;\n             peer score_and_rank_for: ZSCORE + ZREVRANK, 2 round trips"
        )
        print(
            "  rank (peer: rank only)   the same figure of ours; peer rank_for: one ZREVRANK,"
            " rank only"
        )
        print(
            f"  around-me  ours around(member, {AROUND_SIZE}): 1 EVALSHA, entries with rank,"
            f" score, metadata;\n             peer around_me(page_size={AROUND_SIZE}):"
            " ZREVRANK, ZREVRANGE, then a MULTI pipeline of ZREVRANK +\n             ZSCORE"
            " per entry (3 round trips; without member data, its default)"
        )
        print(
            f"  top        ours top({TOP_SIZE}): 1 EVALSHA; peer top({TOP_SIZE}): ZCARD, ZCARD,"
            " ZREVRANGE, then the same\n             MULTI pipeline per entry (4 round trips)"
        )
        print(
            "  submit     ours submit (SUM board, a random existing member, +1..100): 1 EVALSHA,"
            " returns score\n             and rank; peer change_score_for: MULTI ZINCRBY EXEC,"
            " returns nothing"
        )
        print()

    def _load_and_memory(self) -> None:
        print(
            "Bulk load: ours Leaderboard.load (chunks of 1000 into staging keys, then swapped in)"
        )
        for result in self.results:
            print(
                f"  {result.size:>9,} members in {result.load_seconds:6.2f} s ="
                f" {result.size / result.load_seconds:>9,.0f} members/s   (seeding the peer with"
                f" its rank_members, {PEER_SEED_BATCH:,}-member MULTI pipelines of ZADD:"
                f" {result.size / result.peer_seed_seconds:,.0f} members/s)"
            )
        print()
        print(
            "Redis memory per member: MEMORY USAGE key SAMPLES 0 summed over the board-period's"
            " keys, / members\n(scores uniform in 0..999999, no metadata; bytes per member by key)"
        )
        for result in self.results:
            size = result.size
            ours = sum(result.ours_memory.values()) / size
            peer = sum(result.peer_memory.values()) / size
            parts = ", ".join(
                f"{key} {used / size:.1f}" for key, used in result.ours_memory.items()
            )
            print(
                f"  {size:>9,}: ours {ours:6.1f} B ({parts}); peer {peer:5.1f} B;"
                f" {result.distinct_scores:,} distinct scores;"
                f" target <= 120 B {_verdict(ours <= 120)}"
            )

    def _latency(self) -> None:
        if self.latency is None:
            return
        size, ours, peer = self.latency
        print()
        print(
            f"Single-call latency at {size:,} members, {ours.samples:,} sequential calls each"
            " (client-observed, ms):"
        )
        for label, figures in (("ours rank_of", ours), ("peer score_and_rank_for", peer)):
            print(
                f"  {label:<24} p50 {figures.p50_ms:.3f}  p99 {figures.p99_ms:.3f}"
                f"  p99.9 {figures.p999_ms:.3f}  max {figures.max_ms:.3f}"
            )
        print(f"  target: ours p99 < 1 ms {_verdict(ours.p99_ms < 1.0)}")

    def _server_breakdown(self) -> None:
        print()
        print(
            "Redis server time of our scripts per call at the largest size (us): EVALSHA ="
            " the commands it ran\n+ the rest (Lua, reading replies into Lua, building ours);"
            " by command: calls x us"
        )
        result = self.results[-1]
        for row in result.rows:
            if row.operation.startswith("rank (peer"):
                continue
            inner = sorted(row.ours.inner.items(), key=lambda item: -item[1][1])
            commands = sum(usec for _, usec in row.ours.inner.values())
            listed = ", ".join(
                f"{name} {count:.1f}x{usec:.1f}" for name, (count, usec) in inner if usec >= 0.05
            )
            print(
                f"  {row.operation:<13} {row.ours.server_us:6.1f} = {commands:5.1f} +"
                f" {row.ours.server_us - commands:5.1f}: {listed}"
            )


async def _main(args: argparse.Namespace, loop_name: str) -> None:
    started = time.perf_counter()
    bench = Bench(args)
    try:
        info: dict[str, Any] = dict(await bench.admin.info("server"))
        info["loop"] = loop_name
        info["load"] = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
        _progress(f"run {bench.run_id}: PING")
        pings = await bench.ping()
        results: list[SizeResult] = []
        latency: tuple[int, Latency, Latency] | None = None
        largest = max(args.sizes)
        for size in args.sizes:
            _progress(f"run {bench.run_id}: {size:,} members: seeding both boards")
            results.append(await bench.size(size))
            if size == largest and latency is None:
                _progress(f"run {bench.run_id}: {size:,} members: rank latency samples")
                ours, peer = await bench.rank_latency(size)
                latency = (size, ours, peer)
            await bench.delete_size(size)
        Report(args, info, pings, results, latency, time.perf_counter() - started).print()
    finally:
        removed = await bench.cleanup()
        _progress(f"run {bench.run_id}: cleanup removed {removed} leftover keys")
        await bench.close()


def main() -> None:
    args = _arguments()
    try:
        import uvloop  # noqa: PLC0415 - optional, as in service.cli
    except ImportError:
        asyncio.run(_main(args, "asyncio"))
    else:
        uvloop.run(_main(args, "uvloop"))


if __name__ == "__main__":
    main()
