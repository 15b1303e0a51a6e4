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


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
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


async def _prepare(address: str, token: str, database_url: str, population: Population) -> Seeded:
    async with bearer_channel(address, token) as channel:
        await asyncio.wait_for(channel.channel_ready(), 60)
        await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)
        return await seed(channel, database_url, population)


def _row(name: str, result: Result, baseline: float, cpu: float) -> dict[str, object]:
    return {
        "scenario": name,
        "rps": round(result.rps, 1),
        "p50_ms": round(result.percentile(0.50), 2),
        "p95_ms": round(result.percentile(0.95), 2),
        "p99_ms": round(result.percentile(0.99), 2),
        "errors": result.errors,
        "ratio_to_noop": round(result.rps / baseline, 3) if baseline else None,
        "server_cpu_percent": round(cpu, 1),
        "notes": result.notes,
    }


def _notes(notes: object) -> str:
    """Counted outcomes, e.g. "rejected=3", and failed calls by status code."""
    assert isinstance(notes, dict)
    return " ".join(f"{name}={count}" for name, count in notes.items())


def _print(rows: list[dict[str, object]], rss_mb: float, command: str, seeded: str) -> None:
    print(f"\n$ {command}")
    print(seeded)
    header = f"{'scenario':<18}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header + f"{'ratio':>8}{'srv cpu%':>10}  notes")
    for r in rows:
        print(
            f"{r['scenario']:<18}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
            f"{r['errors']:>8}{r['ratio_to_noop']!s:>8}{r['server_cpu_percent']:>10}  "
            f"{_notes(r['notes'])}"
        )
    print(f"server peak RSS: {rss_mb:.0f} MB")


def main() -> int:
    args = _arguments()
    names = [n for n in args.scenarios.split(",") if n]
    if "noop" not in names:
        names.insert(0, "noop")  # every run carries its own baseline
    with _stores() as (database, redis):
        address = f"127.0.0.1:{_free_port()}"
        # A secret of this run's own; every call carries an ops+service token, as a service would.
        secret = secrets.token_urlsafe(48)
        token = issue_token(secret, "bench", ("ops", "service"), 86400)
        env = os.environ | {
            "ENGAGEMENT_GRPC_PLAINTEXT": "true",
            "ENGAGEMENT_JWT_HS256_SECRETS": secret,
            "ENGAGEMENT_DATABASE_URL": database,
            "ENGAGEMENT_REDIS_URL": redis,
            "ENGAGEMENT_GRPC_ADDRESS": address,
            "ENGAGEMENT_LOG_LEVEL": args.log_level,
            "ENGAGEMENT_METRICS_ADDRESS": f"127.0.0.1:{_free_port()}" if args.metrics else "",
        }
        subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, check=True)
        server = subprocess.Popen([sys.executable, "-m", "service", "serve"], env=env)
        try:
            seeded, rows, rss = _measure(address, token, database, server.pid, names, args)
        finally:
            server.terminate()
            server.wait(30)
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    _print(rows, rss, command, seeded.describe())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": command, "seeded": asdict(seeded), "rows": rows, "rss_mb": rss}
    args.json.write_text(json.dumps(report, indent=2))
    return 0


def _measure(
    address: str, token: str, database_url: str, pid: int, names: list[str],
    args: argparse.Namespace,
) -> tuple[Seeded, list[dict[str, object]], float]:  # fmt: skip
    population = Population(args.users, args.board_members)
    seeded = asyncio.run(_prepare(address, token, database_url, population))
    print(seeded.describe(), flush=True)
    process = psutil.Process(pid)
    rows: list[dict[str, object]] = []
    baseline = 0.0
    peak_rss = 0.0
    for name in names:
        cpu_before, started = process.cpu_times(), time.perf_counter()
        result = run_load(
            address, SCENARIOS[name], users=args.users, processes=args.processes,
            in_flight=args.in_flight, seconds=args.seconds, token=token,
        )  # fmt: skip
        cpu_after, elapsed = process.cpu_times(), time.perf_counter() - started
        used = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        peak_rss = max(peak_rss, process.memory_info().rss / 2**20)
        baseline = baseline or result.rps
        rows.append(_row(name, result, baseline, 100 * used / elapsed))
    return seeded, rows, peak_rss


if __name__ == "__main__":
    raise SystemExit(main())
