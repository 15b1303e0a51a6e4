"""`engagement serve --workers 2` as an operator runs it: one port shared by two processes, a
worker that dies replaced, background duties done by one worker, SIGTERM draining all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2
from prometheus_client.parser import text_string_to_metric_families

from service.entrypoints.grpc_api.tokens import bearer_channel
from service.gen.engagement.v1 import audit_pb2, audit_pb2_grpc, rewards_pb2
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.health import wait_for_health
from service.loyalty_stub.server import RunningStub, start_stub
from service.settings import Settings
from service.workers import reserve_port
from tests.support import auth
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SERVING = health_pb2.HealthCheckResponse.SERVING
# Its own connection per channel, so that channels can reach different workers.
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub()
    yield running
    await running.stop(0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Host:
    """The supervisor's process, its log and its port, and which worker a channel reached."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, port: int) -> None:
        self.process = process
        self.log_path = log
        self.port = port

    def lines(self) -> list[dict[str, str]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def messages(self, contains: str) -> list[str]:
        return [line["message"] for line in self.lines() if contains in line["message"]]

    def worker_pids(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def worker_pid(self, index: int) -> int:
        """The newest pid the supervisor started worker `index` with."""
        started = self.messages(f"started worker {index} (pid ")
        return int(started[-1].rpartition("pid ")[2].rstrip(")"))

    def listening(self, pid: int) -> bool:
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
            for c in psutil.Process(pid).net_connections("tcp")
        )

    def _our_ports(self) -> set[int]:
        return {
            c.laddr.port
            for c in psutil.Process().net_connections("tcp")
            if c.raddr and c.raddr.port == self.port and c.status == psutil.CONN_ESTABLISHED
        }

    async def channel_to_each(self, stack: AsyncExitStack) -> dict[int, grpc.aio.Channel]:
        """A ready channel to every worker, by pid: new connections until each got one."""
        found: dict[int, grpc.aio.Channel] = {}
        for _ in range(64):
            before = self._our_ports()
            channel = await stack.enter_async_context(
                bearer_channel(f"127.0.0.1:{self.port}", auth.token(), options=OWN_CONNECTION)
            )
            await asyncio.wait_for(channel.channel_ready(), 30)
            (ours,) = self._our_ports() - before
            (pid,) = [p for p in self.worker_pids() if self._serves(p, ours)]
            found.setdefault(pid, channel)
            if set(found) == self.worker_pids():
                return found
        raise AssertionError(f"64 connections reached only the workers {sorted(found)}")

    def _serves(self, pid: int, client_port: int) -> bool:
        return any(
            c.raddr and c.raddr.port == client_port and c.laddr.port == self.port
            for c in psutil.Process(pid).net_connections("tcp")
        )


async def _check_in(channel: grpc.aio.Channel, user: str) -> str:
    response = await pb_grpc.CheckInServiceStub(channel).CheckIn(
        pb.CheckInRequest(user_id=user, timezone="UTC")
    )
    return response.grants[0].idempotency_key


def _calls(scraped: str, method: str) -> float:
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "engagement_rpc_calls_total" and labels == {
                "method": method, "code": "OK"
            }:  # fmt: skip
                return sample.value
    return 0.0


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


@pytest.fixture
async def host(
    settings: Settings, engine: object, stub: RunningStub, tmp_path: Path
) -> AsyncIterator[tuple[Host, int]]:
    port, metrics_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGEMENT_")} | {
        "ENGAGEMENT_DATABASE_URL": settings.database_url,
        "ENGAGEMENT_REDIS_URL": settings.redis_url,
        "ENGAGEMENT_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "ENGAGEMENT_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "ENGAGEMENT_GRPC_PLAINTEXT": "true",
        "ENGAGEMENT_JWT_HS256_SECRETS": auth.TEST_SECRET,
        "ENGAGEMENT_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
        "ENGAGEMENT_METRICS_REFRESH_SECONDS": "0.2",
        "ENGAGEMENT_LOYALTY_SINK": "grpc",
        "ENGAGEMENT_LOYALTY_ADDRESS": stub.address,
        "ENGAGEMENT_LOYALTY_TIMEOUT_SECONDS": "1",
        "ENGAGEMENT_RELAY_LEASE_SECONDS": "2",
        "ENGAGEMENT_RELAY_POLL_INTERVAL_SECONDS": "0.05",
        "ENGAGEMENT_HEALTH_INTERVAL_SECONDS": "0.5",
        "ENGAGEMENT_SHUTDOWN_GRACE_SECONDS": "2",
        "ENGAGEMENT_LOG_FORMAT": "json",
        "ENGAGEMENT_ACCESS_LOG": "false",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", "serve", "--workers", "2", env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    started = Host(process, log, port)
    try:
        yield started, metrics_port
    finally:
        if process.returncode is None:
            for pid in started.worker_pids():
                os.kill(pid, signal.SIGKILL)
            process.kill()
            await process.wait()


async def test_two_workers_share_a_port_a_dead_one_is_replaced_and_sigterm_drains_them(
    host: tuple[Host, int], stub: RunningStub
) -> None:
    serving, metrics_port = host
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(auth.channel(serving.port))
        await asyncio.wait_for(first.channel_ready(), 60)
        # SERVING only once both workers serve.
        await wait_for_health(first, SERVING)
        workers = serving.worker_pids()
        assert len(workers) == 2
        assert all(serving.listening(pid) for pid in workers)
        await _duties_once_and_pages_across(serving, stub, await serving.channel_to_each(stack))

        killed = serving.worker_pid(0)  # the one with the duties
        os.kill(killed, signal.SIGKILL)

        async def replaced() -> bool:
            pids = serving.worker_pids()
            return len(pids) == 2 and killed not in pids and all(map(serving.listening, pids))

        await wait_until(replaced, within=60, what="a new worker in place of the killed one")
        await wait_until(
            lambda: _true(serving.messages("serves again")), within=60, what="it to serve"
        )
        assert serving.messages(f"worker 0 (pid {killed}) was killed by SIGKILL; starting another")

    async with AsyncExitStack() as stack:
        channels = await serving.channel_to_each(stack)
        await wait_for_health(next(iter(channels.values())), SERVING)
        # The replacement took the duties over: its relay delivers the new grant.
        key = await _check_in(channels[serving.worker_pid(0)], "carol")
        await wait_until(lambda: _true(key in stub.ledger.effects), what="carol's grant")
        assert len(serving.messages("delivering grants")) == 2

    # Counts of every worker, the killed one's included, summed on the supervisor's endpoint.
    scraped = await asyncio.to_thread(_scrape, metrics_port)
    assert _calls(scraped, "CheckInService/CheckIn") == 3
    assert "engagement_grants{" in scraped

    before = len(serving.messages("shutting down"))
    pids = serving.worker_pids()
    serving.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(serving.process.wait(), 60) == 0
    assert not any(psutil.pid_exists(pid) and _running(pid) for pid in pids)
    assert len(serving.messages("shutting down")) == before + 2
    assert "Traceback" not in serving.log_path.read_text()


async def _true(value: object) -> bool:
    return bool(value)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def _duties_once_and_pages_across(
    serving: Host, stub: RunningStub, channels: dict[int, grpc.aio.Channel]
) -> None:
    """Each worker serves; one relay delivers what both wrote; a page token one worker
    signed is good at the other."""
    (one, other) = channels.values()
    reward = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
    program = admin_pb.CheckInProgram(cycle=[admin_pb.CycleDay(rewards=[reward])])
    for channel in (one, other):  # two audited changes: two pages of one entry
        await admin_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
            admin_pb.UpdateCheckInProgramRequest(program=program)
        )
    keys = {await _check_in(one, "alice"), await _check_in(other, "bob")}
    await wait_until(lambda: _true(keys <= set(stub.ledger.effects)), what="both grants")
    assert len(serving.messages("delivering grants")) == 1

    request = audit_pb2.ListAuditEntriesRequest(page_size=1)
    page = await audit_pb2_grpc.AuditAdminServiceStub(one).ListAuditEntries(request)
    request.page_token = page.next_page_token
    rest = await audit_pb2_grpc.AuditAdminServiceStub(other).ListAuditEntries(request)
    assert len(page.entries) == len(rest.entries) == 1
    assert page.entries[0].id != rest.entries[0].id


async def test_workers_whose_supervisor_is_killed_drain_and_free_the_port(
    host: tuple[Host, int],
) -> None:
    serving, _ = host
    async with auth.channel(serving.port) as channel:
        await asyncio.wait_for(channel.channel_ready(), 60)
        await wait_for_health(channel, SERVING)
    pids = serving.worker_pids()
    serving.process.kill()
    await serving.process.wait()

    async def gone() -> bool:
        return not any(_running(pid) for pid in pids)

    await wait_until(gone, within=60, what="the orphaned workers to stop")
    assert len(serving.messages("the supervisor is gone; stopping")) == 2
    with socket.socket() as sock:  # as any one-process server binds it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", serving.port))
        sock.listen()


def test_the_reserved_port_is_kept_for_the_workers_and_from_everyone_else() -> None:
    reserved, address = reserve_port("127.0.0.1:0")
    port = int(address.rpartition(":")[2])
    try:
        assert port != 0
        with socket.socket() as stranger:
            stranger.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with pytest.raises(OSError, match="in use"):
                stranger.bind(("127.0.0.1", port))
        with socket.socket() as worker:
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            worker.bind(("127.0.0.1", port))
            worker.listen()
    finally:
        reserved.close()
