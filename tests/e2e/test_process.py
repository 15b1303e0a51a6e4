"""The `engagement` command as an operator runs it: settings, migrations, signals, TZ."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from grpc_health.v1 import health_pb2

from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.health import wait_for_health
from service.settings import Settings
from tests.support import auth

pytestmark = pytest.mark.e2e
# What `engagement serve` needs to accept anyone at all: a plaintext port and a secret; and
# one process (the supervisor of several, `--workers`, has tests of its own in test_workers.py
# and in the refusals below).
SECURITY = {
    "ENGAGEMENT_GRPC_PLAINTEXT": "true",
    "ENGAGEMENT_JWT_HS256_SECRETS": auth.TEST_SECRET,
    "ENGAGEMENT_WORKERS": "1",
}
WORKERS = pytest.mark.parametrize("workers", ["1", "2"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGEMENT_")}
    return {k: v for k, v in (env | SECURITY | variables).items() if v}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_missing_setting_stops_startup_naming_the_variable() -> None:
    result = _run("serve", env=_environment(ENGAGEMENT_REDIS_URL="redis://127.0.0.1:1"))

    assert result.returncode == 2
    assert result.stderr.strip() == "engagement: ENGAGEMENT_DATABASE_URL: Field required"


def test_bad_setting_stops_startup_naming_the_variable() -> None:
    env = _environment(
        ENGAGEMENT_DATABASE_URL="mysql://x", ENGAGEMENT_REDIS_URL="redis://127.0.0.1:1"
    )
    result = _run("serve", env=env)

    assert result.returncode == 2
    assert result.stderr.startswith("engagement: ENGAGEMENT_DATABASE_URL: ")
    assert "postgresql://" in result.stderr


@WORKERS
def test_unmigrated_database_stops_startup_naming_the_fixing_command(
    empty_database_url: str, redis_server_url: str, workers: str
) -> None:
    env = _environment(
        ENGAGEMENT_DATABASE_URL=empty_database_url, ENGAGEMENT_REDIS_URL=redis_server_url,
        ENGAGEMENT_WORKERS=workers,
    )  # fmt: skip
    result = _run("serve", env=env)

    assert result.returncode == 2
    assert "run `engagement migrate`" in result.stderr
    assert "Traceback" not in result.stderr


@WORKERS
def test_serve_refuses_a_port_neither_tls_nor_explicitly_plaintext(workers: str) -> None:
    # Unreachable stores: the refusal comes before any connection.
    env = _environment(
        ENGAGEMENT_DATABASE_URL="postgresql://127.0.0.1:1/x", ENGAGEMENT_REDIS_URL="redis://127.0.0.1:1",
        ENGAGEMENT_GRPC_PLAINTEXT="", ENGAGEMENT_WORKERS=workers,
    )  # fmt: skip
    result = _run("serve", env=env)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("engagement: ENGAGEMENT_GRPC_TLS_CERT_FILE and ")
    assert "ENGAGEMENT_GRPC_PLAINTEXT=true" in result.stderr


def test_serve_refuses_to_start_when_no_caller_could_authenticate() -> None:
    # Unreachable stores: the refusal comes before any connection.
    env = _environment(
        ENGAGEMENT_DATABASE_URL="postgresql://127.0.0.1:1/x", ENGAGEMENT_REDIS_URL="redis://127.0.0.1:1",
        ENGAGEMENT_JWT_HS256_SECRETS="",
    )  # fmt: skip
    result = _run("serve", env=env)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "ENGAGEMENT_JWT_HS256_SECRETS" in result.stderr
    assert "ENGAGEMENT_API_KEYS: set at least one" in result.stderr


async def test_serves_in_a_non_utc_server_timezone_and_drains_on_sigterm(
    settings: Settings, engine: object
) -> None:
    port = _free_port()
    env = _environment(
        ENGAGEMENT_DATABASE_URL=settings.database_url,
        ENGAGEMENT_REDIS_URL=settings.redis_url,
        ENGAGEMENT_GRPC_ADDRESS=f"127.0.0.1:{port}",
        # UTC+14: a server clock read as local time would be a day ahead most of the time.
        TZ="Pacific/Kiritimati",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with auth.channel(port) as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)
            before = dt.datetime.now(dt.UTC).date()
            response = await pb_grpc.CheckInServiceStub(channel).CheckIn(
                pb.CheckInRequest(user_id="tz", timezone="UTC")
            )
            after = dt.datetime.now(dt.UTC).date()
        assert dt.date.fromisoformat(response.check_in.day) in {before, after}
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    assert "shutting down" in log
    assert "Traceback" not in log


async def test_serves_metrics_json_logs_and_traces_when_asked(
    settings: Settings, engine: object
) -> None:
    port, metrics_port = _free_port(), _free_port()
    env = _environment(
        ENGAGEMENT_DATABASE_URL=settings.database_url,
        ENGAGEMENT_REDIS_URL=settings.redis_url,
        ENGAGEMENT_GRPC_ADDRESS=f"127.0.0.1:{port}",
        ENGAGEMENT_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}",
        ENGAGEMENT_LOG_FORMAT="json",
        ENGAGEMENT_TRACING="console",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with auth.channel(port) as channel:
            await asyncio.wait_for(channel.channel_ready(), 30)
            await wait_for_health(channel, health_pb2.HealthCheckResponse.SERVING)
            await pb_grpc.CheckInServiceStub(channel).GetStreak(
                pb.GetStreakRequest(user_id="traced"), metadata=(("x-request-id", "trace-me"),)
            )
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        scraped = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    exported = scraped.decode()
    assert 'engagement_rpc_calls_total{code="OK",method="CheckInService/GetStreak"} 1.0' in exported
    assert 'engagement_grants{state="pending"} 0.0' in exported
    lines = [json.loads(line) for line in err.decode().splitlines()]
    access = [line for line in lines if line["logger"] == "service.access"]
    assert access == [
        access[0] | {"method": "CheckInService/GetStreak", "code": "OK", "request_id": "trace-me",
                     "subject": "test-operator", "level": "INFO"},
    ]  # fmt: skip
    spans = out.decode()
    assert '"name": "/engagement.v1.CheckInService/GetStreak"' in spans
    assert '"db.system": "postgresql"' in spans


@pytest.mark.parametrize(
    ("variable", "workers", "shared"),
    [
        ("ENGAGEMENT_GRPC_ADDRESS", "1", False),
        ("ENGAGEMENT_METRICS_ADDRESS", "1", False),
        ("ENGAGEMENT_GRPC_ADDRESS", "2", False),
        ("ENGAGEMENT_METRICS_ADDRESS", "2", False),
        # Another host's workers listen with SO_REUSEPORT: they are not joined by accident.
        ("ENGAGEMENT_GRPC_ADDRESS", "2", True),
    ],
)
def test_a_taken_port_stops_startup_in_one_line_naming_the_variable(
    settings: Settings, engine: object, variable: str, workers: str, shared: bool
) -> None:
    with socket.socket() as taken:
        if shared:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = _environment(
            ENGAGEMENT_DATABASE_URL=settings.database_url,
            ENGAGEMENT_REDIS_URL=settings.redis_url,
            ENGAGEMENT_GRPC_ADDRESS=f"127.0.0.1:{_free_port()}",
            ENGAGEMENT_LOG_LEVEL="ERROR",
            ENGAGEMENT_WORKERS=workers,
        ) | {variable: address}
        result = _run("serve", env=env)

    assert result.returncode == 2
    assert result.stderr.startswith(f"engagement: {variable}: cannot listen on {address}")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
