"""The relay as processes: killed with SIGKILL mid-batch, inside `engagement serve`, alone."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from grpc_health.v1 import health_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.health import wait_for_health
from service.loyalty_stub.faults import Faults
from service.loyalty_stub.server import RunningStub, start_stub
from service.settings import Settings
from tests.support import auth
from tests.support.grants import (
    assert_user_order,
    make_grant,
    queue_grants,
    status_counts,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub()
    yield running
    await running.stop(0)


def _environment(settings: Settings, stub: RunningStub, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGEMENT_")}
    return (
        env
        | {
            "ENGAGEMENT_DATABASE_URL": settings.database_url,
            "ENGAGEMENT_REDIS_URL": settings.redis_url,
            "ENGAGEMENT_LOYALTY_SINK": "grpc",
            "ENGAGEMENT_LOYALTY_ADDRESS": stub.address,
            "ENGAGEMENT_LOYALTY_TIMEOUT_SECONDS": "1",
            "ENGAGEMENT_RELAY_LEASE_SECONDS": "1.5",
            "ENGAGEMENT_RELAY_POLL_INTERVAL_SECONDS": "0.02",
            "ENGAGEMENT_RELAY_BACKOFF_INITIAL_SECONDS": "0.02",
            "ENGAGEMENT_RELAY_BACKOFF_MAX_SECONDS": "0.25",
            "ENGAGEMENT_GRPC_PLAINTEXT": "true",
            "ENGAGEMENT_JWT_HS256_SECRETS": auth.TEST_SECRET,
            # One process: test_workers.py has the relay inside a worker of several.
            "ENGAGEMENT_WORKERS": "1",
        }
        | variables
    )


@asynccontextmanager
async def engagement(*args: str, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", *args, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_relay_killed_mid_batch_loses_and_repeats_no_effect(
    settings: Settings, engine: AsyncEngine, stub: RunningStub
) -> None:
    grants = [make_grant(f"u{n % 25}", n) for n in range(1000)]
    await queue_grants(engine, grants)
    # Slow acknowledgements: the kill lands after the stub applied a batch, before the relay
    # heard back, which is the crash window that redelivery and the grant id must cover.
    stub.injector.faults = Faults(delay_seconds=0.2)
    env = _environment(settings, stub, ENGAGEMENT_RELAY_BATCH_SIZE="50")

    async def killable() -> bool:
        stats = stub.ledger.stats
        return len(stub.ledger.effects) >= 200 and stats.calls_in_progress > 0

    async with engagement("relay", env=env) as first:
        await wait_until(killable, what="a batch in flight after 200 deliveries")
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
    assert (await status_counts(engine))["pending"] > 0
    stub.injector.faults = Faults()

    async def all_delivered() -> bool:
        return await status_counts(engine) == {"delivered": len(grants)}

    async with engagement("relay", env=env) as second:
        await wait_until(all_delivered, within=30, what="every grant delivered")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0

    effects = stub.ledger.effects
    assert len(effects) == len(set(effects)) == len(grants)
    assert set(effects) == {g.idempotency_key for g in grants}
    assert stub.ledger.stats.duplicates > 0, "nothing was redelivered: the kill missed its window"
    assert_user_order(stub.ledger.order_by_user())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_runs_the_relay_and_check_in_grants_reach_the_loyalty_system(
    settings: Settings, engine: AsyncEngine, stub: RunningStub
) -> None:
    port = _free_port()
    env = _environment(settings, stub, ENGAGEMENT_GRPC_ADDRESS=f"127.0.0.1:{port}")
    reward = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
    program = admin_pb.CheckInProgram(cycle=[admin_pb.CycleDay(rewards=[reward])])

    async def delivered() -> bool:
        return bool(stub.ledger.effects)

    async with engagement("serve", env=env) as process:
        async with auth.channel(port) as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)
            admin = admin_grpc.CheckInAdminServiceStub(channel)
            await admin.UpdateCheckInProgram(admin_pb.UpdateCheckInProgramRequest(program=program))
            response = await pb_grpc.CheckInServiceStub(channel).CheckIn(
                pb.CheckInRequest(user_id="ivy", timezone="UTC")
            )
            await wait_until(delivered, what="the check-in's grant at the loyalty stub")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()

    key = response.grants[0].idempotency_key
    assert stub.ledger.effects == [key]
    received = stub.ledger.grants[key].grant
    assert (received.user_id, received.amount, received.cause_ref) == (
        "ivy", 10, response.grants[0].cause_ref,
    )  # fmt: skip
    assert "relay" in log
    assert "Traceback" not in log


async def test_a_relay_without_a_loyalty_system_stops_naming_the_setting(
    settings: Settings, stub: RunningStub
) -> None:
    env = _environment(settings, stub, ENGAGEMENT_LOYALTY_SINK="none")
    async with engagement("relay", env=env) as process:
        assert await asyncio.wait_for(process.wait(), 30) == 2
        assert process.stderr is not None
        error = (await process.stderr.read()).decode()

    assert error.startswith("engagement: ENGAGEMENT_LOYALTY_SINK: ")
