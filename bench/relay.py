"""`make bench-relay`: grants relayed to the loyalty stub per second, and delivery lag at a
steady rate, beside a no-op RPC measured in the same run.

The stub and `engagement relay` run as child processes, as in production; this process fills
the outbox and measures. The outbox lives in a scratch database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.load import run_load
from bench.run import _stores
from bench.scenarios import noop
from service.adapters.postgres import migrate
from service.gen.loyalty.stub.v1 import control_pb2, control_pb2_grpc
from service.gen.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from service.loyalty_stub.child import StubProcess, start_stub_process
from service.settings import Settings

# Grants of a run go to these many users, round robin, so per-user order has work to do.
USERS = 5000
_FILL = sa.text("""
INSERT INTO grant_outbox (idempotency_key, user_id, kind, amount, item_code, reason,
                          cause_kind, cause_ref, definition_version)
SELECT CAST(:prefix AS text) || g, 'user-' || (g % CAST(:users AS int)), 'points', 10, '',
       'bench grant', 'bench', 'bench:' || g, 1
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS g
""")


@dataclass
class Figures:
    command: str
    noop_rps: float
    grants: int
    relay_seconds: float
    relay_grants_per_second: float
    lag_rate_per_second: float
    lag_grants: int
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grants", type=int, default=50_000, help="backlog to relay")
    parser.add_argument("--rate", type=int, default=1000, help="grants/s of the lag phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the lag phase")
    parser.add_argument("--noop-seconds", type=float, default=3.0)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path("bench-results/relay.json"))
    return parser.parse_args()


@contextlib.asynccontextmanager
async def _scratch_database(server_url: str) -> AsyncIterator[str]:
    """A migrated database of its own on the server, dropped when the block ends."""
    asyncpg_url = Settings.model_validate(
        {"database_url": server_url, "redis_url": "redis://unused"}
    ).database_url
    server = make_url(asyncpg_url)
    name = f"engagement_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'create database "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_async_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'drop database "{name}" with (force)'))
        await admin.dispose()


async def _fill(engine: AsyncEngine, prefix: str, first: int, last: int) -> None:
    params = {"prefix": prefix, "users": USERS, "first": first, "last": last}
    async with engine.begin() as conn:
        await conn.execute(_FILL, params)


async def _accepted(control: control_pb2_grpc.StubControlServiceAsyncStub) -> int:
    return (await control.GetStats(control_pb2.GetStatsRequest())).accepted


async def _wait_accepted(
    control: control_pb2_grpc.StubControlServiceAsyncStub, wanted: int, within: float
) -> None:
    deadline = time.monotonic() + within
    while await _accepted(control) < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stub did not receive {wanted} grants within {within}s")
        await asyncio.sleep(0.005)


async def _throughput(
    engine: AsyncEngine, control: control_pb2_grpc.StubControlServiceAsyncStub, grants: int
) -> float:
    """Seconds from committing `grants` grants at once until the stub has all of them."""
    before = await _accepted(control)
    started = time.perf_counter()
    await _fill(engine, "backlog-", 1, grants)
    await _wait_accepted(control, before + grants, within=600)
    return time.perf_counter() - started


async def _steady(engine: AsyncEngine, rate: int, seconds: float) -> int:
    """Queue `rate` grants per second for `seconds`, 100 transactions per second."""
    ticks, per_tick = int(seconds * 100), max(1, rate // 100)
    started = time.perf_counter()
    for tick in range(ticks):
        first = tick * per_tick + 1
        await _fill(engine, "steady-", first, first + per_tick - 1)
        pause = started + (tick + 1) / 100 - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)  # pacing the producer, not measuring
    return ticks * per_tick


async def _lags_ms(channel: grpc.aio.Channel, since: dt.datetime) -> list[float]:
    """Received-at minus occurred-at of every grant the stub got that occurred after `since`."""
    stub = loyalty_pb2_grpc.LoyaltyServiceStub(channel)
    request = loyalty_pb2.ListGrantsRequest(page_size=1000)
    request.occurred_after.FromDatetime(since)
    lags: list[float] = []
    while True:
        page = await stub.ListGrants(request)
        for item in page.grants:
            lag = item.received_at.ToNanoseconds() - item.grant.occurred_at.ToNanoseconds()
            lags.append(lag / 1e6)
        if not page.next_page_token:
            return sorted(lags)
        request.page_token = page.next_page_token


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@contextlib.contextmanager
def _relay_process(
    database_url: str, redis_url: str, stub: StubProcess, args: argparse.Namespace
) -> Iterator[subprocess.Popen[bytes]]:
    """`engagement relay` as production runs it, pointed at the stub."""
    env = os.environ | {
        "ENGAGEMENT_DATABASE_URL": database_url,
        "ENGAGEMENT_REDIS_URL": redis_url,
        "ENGAGEMENT_LOYALTY_SINK": "grpc",
        "ENGAGEMENT_LOYALTY_ADDRESS": stub.address,
        "ENGAGEMENT_RELAY_BATCH_SIZE": str(args.batch_size),
        "ENGAGEMENT_RELAY_CONCURRENCY": str(args.concurrency),
        "ENGAGEMENT_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "service", "relay"], env=env)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)


async def _database_now(engine: AsyncEngine) -> dt.datetime:
    async with engine.connect() as conn:
        now: dt.datetime = (await conn.execute(sa.text("select now()"))).scalar_one()
    return now


async def _relay_phases(
    args: argparse.Namespace, server_url: str, redis_url: str, stub: StubProcess
) -> tuple[float, int, list[float]]:
    """Relay throughput on a backlog, then lags at a steady rate; the relay runs throughout."""
    async with _scratch_database(server_url) as url:
        engine = create_async_engine(url)
        try:
            with _relay_process(url, redis_url, stub, args):
                async with grpc.aio.insecure_channel(stub.address) as channel:
                    control = control_pb2_grpc.StubControlServiceStub(channel)
                    await _fill(engine, "warmup-", 1, 100)  # the relay is up once these arrive
                    await _wait_accepted(control, 100, within=120)
                    seconds = await _throughput(engine, control, args.grants)
                    since = await _database_now(engine)
                    produced = await _steady(engine, args.rate, args.seconds)
                    await _wait_accepted(control, 100 + args.grants + produced, within=120)
                    lags = await _lags_ms(channel, since)
        finally:
            await engine.dispose()
    return seconds, produced, lags


def _measure(args: argparse.Namespace, command: str) -> Figures:
    with _stores() as (database_url, redis_url):
        stub = start_stub_process()
        try:
            baseline = run_load(stub.address, noop, users=1, processes=2, in_flight=64,
                                seconds=args.noop_seconds)  # fmt: skip
            seconds, produced, lags = asyncio.run(
                _relay_phases(args, database_url, redis_url, stub)
            )
        finally:
            stub.stop()
    return Figures(
        command=command,
        noop_rps=round(baseline.rps, 1),
        grants=args.grants,
        relay_seconds=round(seconds, 3),
        relay_grants_per_second=round(args.grants / seconds, 1),
        lag_rate_per_second=round(produced / args.seconds, 1),
        lag_grants=len(lags),
        lag_p50_ms=round(_percentile(lags, 0.50), 1),
        lag_p99_ms=round(_percentile(lags, 0.99), 1),
        lag_max_ms=round(lags[-1] if lags else float("nan"), 1),
    )


def _print(f: Figures) -> None:
    ratio = f.relay_grants_per_second / f.noop_rps if f.noop_rps else float("nan")
    print(f"\n$ {f.command}")
    print(f"no-op gRPC RPC (Health/Check on the stub): {f.noop_rps:,.0f} RPS")
    print(f"relay throughput: {f.grants:,} grants in {f.relay_seconds:.2f} s = "
          f"{f.relay_grants_per_second:,.0f} grants/s ({ratio:.2f}x the no-op RPC rate; "
          "target >= 5,000/s)")  # fmt: skip
    print(f"delivery lag at {f.lag_rate_per_second:,.0f} grants/s ({f.lag_grants:,} grants): "
          f"p50 {f.lag_p50_ms:.0f} ms, p99 {f.lag_p99_ms:.0f} ms, max {f.lag_max_ms:.0f} ms "
          "(target p99 < 1 s)")  # fmt: skip


def main() -> int:
    args = _arguments()
    command = " ".join(["python -m bench.relay", *sys.argv[1:]])
    figures = _measure(args, command)
    _print(figures)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(figures), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
