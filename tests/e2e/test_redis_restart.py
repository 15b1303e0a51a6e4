"""A Redis of the test's own: FLUSHALL, and a restart without persistence, heal by themselves."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import App, build_app
from service.embedded import find_redis_server
from service.entrypoints.grpc_api.server import start_server
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.e2e.test_board_healing import Snapshot, play, snapshot
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def clock() -> MovableClock:
    # Redis applies retention deadlines by its own clock, so the test's starts at the real now.
    return MovableClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


class PrivateRedis:
    """A redis-server on a loopback port that keeps nothing on disk; restartable in place."""

    def __init__(self, directory: Path) -> None:
        self.binary, _ = find_redis_server()
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    async def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            return bool(await client.ping())
        except (redis.ConnectionError, OSError):
            return False
        finally:
            await client.aclose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def channel(
    settings: Settings, engine: AsyncEngine, clock: MovableClock, private_redis: PrivateRedis
) -> AsyncIterator[tuple[grpc.aio.Channel, App]]:
    await wait_until(private_redis.answers, what="the private redis-server to answer")
    app = build_app(settings.model_copy(update={"redis_url": private_redis.url}), clock)
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as opened:
            yield opened, app
    finally:
        await running.stop(0)
        await app.close()


async def settled_snapshot(
    stub: pb_grpc.LeaderboardServiceAsyncStub, refs: list[pb.BoardRef]
) -> Snapshot:
    """The standings once every read answers; until then, UNAVAILABLE is the only refusal."""
    found: list[Snapshot] = []
    codes: list[grpc.StatusCode] = []

    async def answered() -> bool:
        try:
            found.append(await snapshot(stub, refs))
        except grpc.aio.AioRpcError as refused:
            codes.append(refused.code())
            return False
        return True

    await wait_until(answered, what="reads to answer again")
    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
    return found[-1]


async def test_flushall_and_a_restart_heal_without_an_operator(
    channel: tuple[grpc.aio.Channel, App], clock: MovableClock, private_redis: PrivateRedis
) -> None:
    opened, app = channel
    refs = await play(opened, app, clock)
    stub = pb_grpc.LeaderboardServiceStub(opened)
    before = await snapshot(stub, refs)

    client = redis.Redis.from_url(private_redis.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    assert await settled_snapshot(stub, refs) == before

    private_redis.stop()
    private_redis.start()
    await wait_until(private_redis.answers, what="the restarted redis-server to answer")
    assert await settled_snapshot(stub, refs) == before
