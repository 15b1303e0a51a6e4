"""`engagement serve --workers N`: N server processes sharing one port, kept running by the
process that started them.

Each worker is an `engagement serve` of its own (its own pools, catalogs and event loop) that
listens with SO_REUSEPORT, so the kernel spreads incoming connections over them. The
supervisor checks what one process would check before serving (settings, migrations, the
port), holds the port, serves the workers' summed metrics, restarts a worker that dies and
passes SIGTERM and SIGINT on for the workers' graceful drain.

Worker 0 alone runs the background duties (grant relay, board upkeep, league seasons, duels,
outbox gauges), so a host does each once; the locks and leases those take still share them
with other hosts, and with a worker 0 being replaced. The others only follow definition
changes, which every process needs for its own catalogs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from service.adapters.postgres import migrate
from service.bootstrap import build_engine
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.server import check_bindable
from service.observability.exposition import serve_workers_metrics
from service.settings import ENV_PREFIX, Settings, SettingsError
from service.waiting import pause

log = logging.getLogger("service.workers")

# The conversation between the supervisor and each worker, a line at a time on a socket pair.
READY = b"ready\n"  # worker: I serve on the shared port
SERVE = b"serve\n"  # supervisor: every worker serves; report health as the stores answer
# Restart delays: doubled for each worker that dies soon after it started, up to the maximum.
RESTART_INITIAL_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STABLE_SECONDS = 60.0
# What `engagement` exits with on a setting it refuses: restarting would not help.
REFUSED = 2
# Beyond the workers' own grace (draining calls, then the relay's batches), for closing pools.
STOP_MARGIN_SECONDS = 10.0


@dataclass
class WorkerLink:
    """A worker's end of the conversation: it says when it serves, hears when to report
    health, and notices a supervisor that is gone (killed, say) and stops too."""

    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, index: int, fd: int) -> WorkerLink:
        reader, writer = await asyncio.open_connection(sock=socket.socket(fileno=fd))
        return cls(index, reader, writer)

    @property
    def runs_duties(self) -> bool:
        return self.index == 0

    async def serving(self, release_health: Callable[[], None], stop: asyncio.Event) -> None:
        """Say READY; release health on SERVE; set `stop` once the supervisor is gone."""
        try:
            self.writer.write(READY)
            await self.writer.drain()
            while line := await self.reader.readline():
                if line == SERVE:
                    release_health()
        except OSError as exc:
            log.warning("lost the supervisor: %r", exc)
        if not stop.is_set():
            log.warning("the supervisor is gone; stopping")
            stop.set()

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ready: bool = False

    def tell(self, line: bytes) -> None:
        with contextlib.suppress(OSError):  # it is exiting; its end of the story follows
            self.writer.write(line)


def _how(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class Supervisor:
    """Keeps `settings.workers` workers running until told to stop."""

    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        self._count = settings.workers
        self._grace = settings.shutdown_grace_seconds
        self._address = env[f"{ENV_PREFIX}GRPC_ADDRESS"]
        self._env = env
        self._stopping = asyncio.Event()
        self._workers: dict[int, _Worker] = {}
        self._serving = False
        self._refused = False

    async def run(self) -> int:
        """Run until SIGTERM or SIGINT and every worker has drained; the exit code is 0 when
        each stopped cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop, sig)
        codes = await asyncio.gather(*(self._keep(index) for index in range(self._count)))
        if self._refused:
            return REFUSED
        return 0 if all(code == 0 for code in codes) else 1

    def _stop(self, sig: int = signal.SIGTERM) -> None:
        if self._stopping.is_set():
            return
        log.info("stopping %d workers (%s)", len(self._workers), signal.Signals(sig).name)
        self._stopping.set()
        for worker in self._workers.values():
            worker.process.send_signal(sig)
        # The workers drain calls, then the relay's batches, each within the grace.
        deadline = 2 * self._grace + STOP_MARGIN_SECONDS
        asyncio.get_running_loop().call_later(deadline, self._kill_remaining)

    def _kill_remaining(self) -> None:
        for worker in self._workers.values():
            log.warning("worker %d (pid %d) did not stop; killing it", worker.index,
                        worker.process.pid)  # fmt: skip
            worker.process.kill()

    async def _keep(self, index: int) -> int:
        """Run worker `index` again and again, until stopping; its last exit code."""
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            code, ready, ended = await self._run_once(index)
            if self._stopping.is_set():
                return code
            if code == REFUSED and not ready:
                log.error("worker %d refused to start (exit code %d); stopping", index, code)
                self._refused = True
                self._stop()
                return code
            failures = 1 if loop.time() - started >= STABLE_SECONDS else failures + 1
            delay = min(RESTART_MAX_SECONDS, RESTART_INITIAL_SECONDS * 2 ** (failures - 1))
            log.warning("worker %d %s; starting another in %.1f s", index, ended, delay)
            await pause(self._stopping, delay)
            if self._stopping.is_set():
                return 0

    async def _run_once(self, index: int) -> tuple[int, bool, str]:
        """Start worker `index` and follow it until it exits: its exit code, whether it had
        served, and how it ended."""
        try:
            worker = await self._start(index)
        except OSError as exc:  # out of processes or memory, say: try again later
            return 1, False, f"could not be started: {exc}"
        if self._stopping.is_set():  # the signal came while it was being started
            worker.process.send_signal(signal.SIGTERM)
        code = await self._follow(worker)
        return code, worker.ready, f"(pid {worker.process.pid}) {_how(code)}"

    async def _start(self, index: int) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "service", "serve", "--workers", "1",
                "--worker-index", str(index), "--supervisor-fd", str(theirs.fileno()),
                env=self._env, pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        log.info("started worker %d (pid %d)", index, process.pid)
        worker = _Worker(index, process, reader, writer)
        self._workers[index] = worker
        return worker

    async def _follow(self, worker: _Worker) -> int:
        """Hear the worker out until it exits; its exit code."""
        with contextlib.suppress(OSError):
            while line := await worker.reader.readline():
                if line == READY:
                    worker.ready = True
                    self._on_ready(worker)
        code = await worker.process.wait()
        del self._workers[worker.index]
        worker.writer.close()
        return code

    def _on_ready(self, worker: _Worker) -> None:
        """Health says SERVING only once every worker serves; a replacement's at once."""
        if self._serving:
            worker.tell(SERVE)
            log.info("worker %d (pid %d) serves again", worker.index, worker.process.pid)
            return
        if len(self._workers) == self._count and all(w.ready for w in self._workers.values()):
            self._serving = True
            log.info("serving gRPC on %s with %d workers", self._address, self._count)
            for each in self._workers.values():
                each.tell(SERVE)


def reserve_port(address: str) -> tuple[socket.socket, str]:
    """Bind `address` without listening, with SO_REUSEPORT, for the supervisor's lifetime:
    port 0 becomes the one port every worker shares, and no other process can take the port
    while a worker is being replaced. Returns the socket and the address with its port."""
    host, _, port = address.rpartition(":")
    family, kind, protocol, _, where = socket.getaddrinfo(
        host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(where)
    except OSError:
        # Connections a one-process server left closing (it did not use SO_REUSEPORT) are in
        # the way; SO_REUSEADDR passes them, at the price of a reservation that another
        # process's SO_REUSEADDR socket could pass too until the workers listen.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(where)
        except OSError as exc:
            sock.close()
            raise SettingsError(
                f"{ENV_PREFIX}GRPC_ADDRESS: cannot listen on {address}: {exc.strerror or exc}"
            ) from exc
    return sock, f"{host}:{sock.getsockname()[1]}"


async def _ensure_migrated(settings: Settings) -> None:
    engine = build_engine(settings)
    try:
        await migrate.ensure_at_head(engine)
    finally:
        await engine.dispose()


def _worker_environment(settings: Settings, address: str, metrics_dir: str) -> dict[str, str]:
    env = os.environ | {f"{ENV_PREFIX}GRPC_ADDRESS": address}
    if not settings.page_token_secret.get_secret_value():
        # One key for all: a page token one worker signed must pass at every other.
        env[f"{ENV_PREFIX}PAGE_TOKEN_SECRET"] = secrets.token_urlsafe(32)
    if metrics_dir:
        # prometheus_client's multiprocess mode: each worker records into files there.
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    return env


async def supervise(settings: Settings) -> int:
    """Serve with `settings.workers` worker processes until SIGTERM or SIGINT."""
    ServerSecurity.from_settings(settings)  # refuses before touching any store
    if not hasattr(socket, "SO_REUSEPORT"):
        raise SettingsError(f"{ENV_PREFIX}WORKERS: more than 1 needs SO_REUSEPORT (Linux)")
    await _ensure_migrated(settings)
    with contextlib.ExitStack() as stack:
        metrics_dir = ""
        if settings.metrics_address:  # first: a taken port then leaves nothing running
            metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="engagement-"))
            endpoint = serve_workers_metrics(settings.metrics_address, metrics_dir)
            stack.callback(endpoint.stop)
            log.info("serving metrics on http://%s/metrics", settings.metrics_address)
        check_bindable(settings.grpc_address)
        reserved, address = reserve_port(settings.grpc_address)
        stack.callback(reserved.close)
        env = _worker_environment(settings, address, metrics_dir)
        return await Supervisor(settings, env).run()
