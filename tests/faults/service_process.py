"""`engagement serve` as a real process on a fixed port, which the suite may kill and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2

from service.health import wait_for_health
from tests.support import auth

SERVING = health_pb2.HealthCheckResponse.SERVING


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_environment(database_url: str, redis_url: str, **variables: str) -> dict[str, str]:
    """The environment of `engagement serve` against the suite's stores, with short timeouts
    so that an outage is noticed in about a second, and without the load limits: the suite's
    bursts of identical calls are meant to reach the handlers (the limits have tests of their
    own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGEMENT_")}
    return (
        env
        | {
            "ENGAGEMENT_DATABASE_URL": database_url,
            "ENGAGEMENT_REDIS_URL": redis_url,
            "ENGAGEMENT_GRPC_PLAINTEXT": "true",
            "ENGAGEMENT_JWT_HS256_SECRETS": auth.TEST_SECRET,
            "ENGAGEMENT_DB_TIMEOUT_SECONDS": "2",
            "ENGAGEMENT_REDIS_TIMEOUT_SECONDS": "1",
            "ENGAGEMENT_HEALTH_INTERVAL_SECONDS": "0.5",
            "ENGAGEMENT_SHUTDOWN_GRACE_SECONDS": "2",
            "ENGAGEMENT_LOG_LEVEL": "INFO",
            "ENGAGEMENT_USER_RATE_LIMIT_PER_SECOND": "0",
            "ENGAGEMENT_MAX_CONCURRENT_CALLS": "100000",
            # One process, which the suite kills and restarts as a whole.
            "ENGAGEMENT_WORKERS": "1",
        }
        | variables
    )


class ServiceProcess:
    """One `engagement serve`; its log goes to a file, so a chatty outage never blocks it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self._env = env | {"ENGAGEMENT_GRPC_ADDRESS": f"127.0.0.1:{self.port}"}
        self._log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self) -> None:
        """Start the process and return once it reports SERVING."""
        with self._log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "service", "serve", env=self._env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        self.starts += 1
        async with auth.channel(self.port) as channel:
            try:
                await asyncio.wait_for(channel.channel_ready(), 30)
                await wait_for_health(channel, SERVING)
            except (TimeoutError, grpc.aio.AioRpcError, AssertionError) as exc:
                raise RuntimeError(f"engagement serve did not start:\n{self.log_tail()}") from exc

    async def kill(self) -> None:
        """SIGKILL: no drain, no shutdown, whatever was in flight is cut."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def stop(self) -> int | None:
        if self._process is None or self._process.returncode is not None:
            return None if self._process is None else self._process.returncode
        self._process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._process.wait(), 20)
        except TimeoutError:
            self._process.kill()
            return await self._process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")
