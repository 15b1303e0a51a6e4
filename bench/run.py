"""`make bench`: start the service on real stores, drive each scenario, print one table."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import psutil
from grpc_health.v1 import health_pb2

from bench.load import Result, run_load
from bench.scenarios import SCENARIOS
from bench.seed import TEMPLATE_USERS, Population, Seeded, seed
from service.entrypoints.grpc_api.tokens import bearer_channel, issue_token
from service.health import wait_for_health
from service.settings import available_cpus


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--connections", type=int, default=16,
        help="connections of the load generators, in all: the workers share connections, not calls",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=available_cpus(),
        help="server processes (serve --workers); above 1 the no-op runs on one process first",
    )  # fmt: skip
    parser.add_argument("--users", type=int, default=100_000, help="seeded users")
    parser.add_argument(
        "--board-members", type=int, default=1_000_000, help="members of the board read and scored"
    )
    parser.add_argument(
        "--metrics", action="store_true", help="serve Prometheus metrics, as production would"
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="INFO writes an access log line per call"
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results/bench.json"))
    args = parser.parse_args()
    if not TEMPLATE_USERS <= args.users <= args.board_members:
        parser.error(f"need {TEMPLATE_USERS} <= --users <= --board-members")
    if args.workers < 1 or args.connections < 1:
        parser.error("--workers and --connections must be at least 1")
    return args


@contextlib.contextmanager
def _stores() -> Iterator[tuple[str, str]]:
    """The configured Postgres and Redis, else embedded ones in a temporary directory."""
    database, redis = (
        os.environ.get("ENGAGEMENT_DATABASE_URL"),
        os.environ.get("ENGAGEMENT_REDIS_URL"),
    )
    with contextlib.ExitStack() as stack:
        if not database or not redis:
            from service.embedded import start_postgres, start_redis  # noqa: PLC0415

            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if not database:
                database = stack.enter_context(start_postgres(scratch / "pg", ephemeral=True)).url
            if not redis:
                redis = stack.enter_context(start_redis(scratch / "redis")).url
        yield database, redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serving(address: str, token: str) -> None:
    """Once health says SERVING: with several workers, once every one of them serves."""
    async with bearer_channel(address, token) as channel:
        await asyncio.wait_for(channel.channel_ready(), 60)
        await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)


async def _prepare(address: str, token: str, database_url: str, population: Population) -> Seeded:
    await _serving(address, token)
    async with bearer_channel(address, token) as channel:
        return await seed(channel, database_url, population)


@contextlib.contextmanager
def _server(env: dict[str, str], workers: int, metrics: bool) -> Iterator[tuple[str, int]]:
    """`engagement serve --workers N` on a port of its own: its address and pid."""
    address = f"127.0.0.1:{_free_port()}"
    env = env | {
        "ENGAGEMENT_GRPC_ADDRESS": address,
        "ENGAGEMENT_METRICS_ADDRESS": f"127.0.0.1:{_free_port()}" if metrics else "",
    }
    command = [sys.executable, "-m", "service", "serve", "--workers", str(workers)]
    server = subprocess.Popen(command, env=env)
    try:
        yield address, server.pid
    finally:
        server.terminate()
        server.wait(60)


def _row(
    name: str, result: Result, baselines: tuple[float, float], cpu: float
) -> dict[str, object]:
    """`baselines`: the no-op's rate on the same server, and on one process."""
    same, one = baselines
    return {
        "scenario": name,
        "rps": round(result.rps, 1),
        "p50_ms": round(result.percentile(0.50), 2),
        "p95_ms": round(result.percentile(0.95), 2),
        "p99_ms": round(result.percentile(0.99), 2),
        "errors": result.errors,
        "ratio_to_noop": round(result.rps / same, 3) if same else None,
        "ratio_to_one_process_noop": round(result.rps / one, 3) if one else None,
        "server_cpu_percent": round(cpu, 1),
        "notes": result.notes,
    }


def _notes(notes: object) -> str:
    """Counted outcomes, e.g. "rejected=3", and failed calls by status code."""
    assert isinstance(notes, dict)
    return " ".join(f"{name}={count}" for name, count in notes.items())


def _print(rows: list[dict[str, object]], rss_mb: float, command: str, seeded: str,
           workers: int) -> None:  # fmt: skip
    print(f"\n$ {command}")
    print(seeded)
    several = workers > 1
    header = f"{'scenario':<18}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header + f"{'ratio':>8}" + (f"{'vs 1 proc':>10}" if several else "")
          + f"{'srv cpu%':>10}  notes")  # fmt: skip
    for r in rows:
        vs_one = f"{r['ratio_to_one_process_noop']!s:>10}" if several else ""
        print(
            f"{r['scenario']:<18}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
            f"{r['errors']:>8}{r['ratio_to_noop']!s:>8}{vs_one}{r['server_cpu_percent']:>10}  "
            f"{_notes(r['notes'])}"
        )
    if several:
        print(f"ratio: to the no-op on {workers} workers; vs 1 proc: to the no-op on one process "
              f"(its row is the scaling from 1 to {workers} workers)")  # fmt: skip
    print(f"server peak RSS: {rss_mb:.0f} MB (all processes)")


def main() -> int:
    args = _arguments()
    names = [n for n in args.scenarios.split(",") if n]
    if "noop" not in names:
        names.insert(0, "noop")  # every run carries its own baseline
    with _stores() as (database, redis):
        # A secret of this run's own; every call carries an ops+service token, as a service would.
        secret = secrets.token_urlsafe(48)
        token = issue_token(secret, "bench", ("ops", "service"), 86400)
        env = os.environ | {
            "ENGAGEMENT_GRPC_PLAINTEXT": "true",
            "ENGAGEMENT_JWT_HS256_SECRETS": secret,
            "ENGAGEMENT_DATABASE_URL": database,
            "ENGAGEMENT_REDIS_URL": redis,
            "ENGAGEMENT_LOG_LEVEL": args.log_level,
        }
        subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, check=True)
        seeded, rows, rss = _run_all(env, token, database, names, args)
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    _print(rows, rss, command, seeded.describe(), args.workers)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": command, "workers": args.workers, "seeded": asdict(seeded),
              "rows": rows, "rss_mb": rss}  # fmt: skip
    args.json.write_text(json.dumps(report, indent=2))
    return 0


def _run_all(
    env: dict[str, str], token: str, database_url: str, names: list[str], args: argparse.Namespace
) -> tuple[Seeded, list[dict[str, object]], float]:
    """Seed, then measure: with several workers the no-op on one process first, then
    everything on `args.workers` workers."""
    population = Population(args.users, args.board_members)
    with _server(env, 1, args.metrics) as (address, pid):
        seeded = asyncio.run(_prepare(address, token, database_url, population))
        print(seeded.describe(), flush=True)
        if args.workers == 1:
            rows, rss, _ = _measure(address, token, pid, names, args)
            return seeded, rows, rss
        one, rss_one, one_process = _measure(address, token, pid, ["noop"], args)
    one[0]["scenario"] = "noop (1 process)"
    with _server(env, args.workers, args.metrics) as (address, pid):
        asyncio.run(_serving(address, token))
        rows, rss, _ = _measure(address, token, pid, names, args, one_process)
    return seeded, [*one, *rows], max(rss, rss_one)


def _tree(pid: int) -> list[psutil.Process]:
    """The server: one process, or the supervisor and its workers."""
    process = psutil.Process(pid)
    return [process, *process.children(recursive=True)]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _rss_mb(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


def _measure(
    address: str, token: str, pid: int, names: list[str], args: argparse.Namespace,
    one_process: float = 0.0,
) -> tuple[list[dict[str, object]], float, float]:  # fmt: skip
    """Each scenario's row, beside the first one's (the no-op's) rate and `one_process`'s;
    the peak RSS, and the no-op's rate."""
    rows: list[dict[str, object]] = []
    baseline = 0.0
    peak_rss = 0.0
    for name in names:
        processes = _tree(pid)
        cpu_before, started = _cpu_seconds(processes), time.perf_counter()
        result = run_load(
            address, SCENARIOS[name], users=args.users, processes=args.processes,
            in_flight=args.in_flight, seconds=args.seconds, token=token,
            connections=args.connections,
        )  # fmt: skip
        used, elapsed = _cpu_seconds(processes) - cpu_before, time.perf_counter() - started
        peak_rss = max(peak_rss, _rss_mb(processes))
        baseline = baseline or result.rps
        rows.append(_row(name, result, (baseline, one_process or baseline), 100 * used / elapsed))
    return rows, peak_rss, baseline


if __name__ == "__main__":
    raise SystemExit(main())
