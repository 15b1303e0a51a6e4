"""Command-line arguments and the printed table."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from bench.leaderboard.measure import (
    AROUND_SIZE,
    DEFAULT_REDIS_URL,
    PEER_SEED_BATCH,
    TOP_SIZE,
    WARMUP_CALLS,
    Latency,
    Rate,
    SizeResult,
)


def arguments() -> argparse.Namespace:
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
