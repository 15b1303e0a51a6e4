"""The grpc.aio server: our services, health checking, reflection and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from service.adapters.rate_limits import Rate, RateLimits
from service.bootstrap import App
from service.entrypoints.grpc_api.auth import AuthInterceptor
from service.entrypoints.grpc_api.errors import ErrorMappingInterceptor
from service.entrypoints.grpc_api.limits import LimitsInterceptor
from service.entrypoints.grpc_api.request_checks import RequestCheckInterceptor, RequestChecks
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.services import SERVICE_NAMES, SERVICES
from service.entrypoints.grpc_api.telemetry import TelemetryInterceptor
from service.settings import ENV_PREFIX, SettingsError

log = logging.getLogger(__name__)

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def stores_answer(app: App) -> bool:
    """Whether Postgres and Redis both answer within their timeouts."""
    try:
        async with asyncio.timeout(app.settings.db_timeout_seconds):
            async with app.engine.connect() as conn:
                await conn.execute(sa.text("select 1"))
            await app.redis.ping()
    except (OSError, TimeoutError, sa.exc.SQLAlchemyError, ConnectionError) as exc:
        log.warning("health probe failed: %s", exc)
        return False
    except Exception as exc:  # noqa: BLE001 - redis and asyncpg raise their own error trees
        log.warning("health probe failed: %r", exc)
        return False
    return True


class HealthProbe:
    """Sets the health status from periodic store checks until told to stop.

    A held probe reports NOT_SERVING until released, whatever the stores say: a worker of
    several says SERVING only once every worker of its host serves.
    It stops on an event rather than by cancellation: cancelling a task inside a database
    call can leave the driver's connection half-closed.
    """

    def __init__(self, app: App, servicer: HealthServicer, *, held: bool = False) -> None:
        self._app = app
        self._servicer = servicer
        self._stopping = asyncio.Event()
        self._released = not held
        # Set to check again at once rather than at the next interval.
        self._recheck = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="health-probe")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            serving = await stores_answer(self._app) and self._released
            for name in ("", *SERVICE_NAMES):
                await self._servicer.set(name, _SERVING if serving else _NOT_SERVING)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._app.settings.health_interval_seconds):
                    await self._recheck.wait()
            self._recheck.clear()

    def release(self) -> None:
        """Let the stores' answer decide the status from now on."""
        self._released = True
        self._recheck.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._recheck.set()
        await self._task


@dataclass
class RunningServer:
    """A started server and the probe that reports its health."""

    server: grpc.aio.Server
    port: int
    health: HealthServicer
    probe: HealthProbe
    limits: LimitsInterceptor

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, stop accepting calls and drain in-flight ones within `grace`."""
        await self.probe.stop()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    def release_health(self) -> None:
        """Report what the stores say from now on (see `start_server`'s `shared_port`)."""
        self.probe.release()


def limits_of(app: App) -> LimitsInterceptor:
    """The load limits the settings ask for."""
    settings = app.settings
    rate_limits = RateLimits(
        app.redis,
        settings.redis_key_prefix,
        app.clock,
        user=Rate(settings.user_rate_limit_per_second, settings.user_rate_limit_burst),
        credential=Rate(
            settings.credential_rate_limit_per_second, settings.credential_rate_limit_burst
        ),
    )
    return LimitsInterceptor(settings.max_concurrent_calls, rate_limits)


def _bindable(address: str, *, shared: bool) -> bool:
    """Whether this process could listen on `host:port` now (port 0 always can); `shared`:
    beside the other workers of its host, which listen with SO_REUSEPORT."""
    host, _, port = address.rpartition(":")
    try:
        if int(port) == 0:
            return True
        found = socket.getaddrinfo(
            host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, protocol, _, where in found:
            with socket.socket(family, kind, protocol) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if shared:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(where)
    except (OSError, ValueError):
        return False
    return True


def check_bindable(address: str, *, shared: bool = False) -> None:
    """Refuse, naming the setting, an address this process cannot listen on.

    Checked before grpc binds: grpc would log its own multi-line error before raising a bare
    one. Unshared, a port that another process listens on is refused even when that one
    uses SO_REUSEPORT, so a second instance never shares a port by accident.
    """
    if not _bindable(address, shared=shared):
        raise SettingsError(
            f"{ENV_PREFIX}GRPC_ADDRESS: cannot listen on {address}: the port is taken by another "
            "process or the address is not this machine's; set another address"
        )


async def start_server(
    app: App, address: str, security: ServerSecurity | None = None, *, shared_port: bool = False
) -> RunningServer:
    """Start serving on `address` (port 0 picks a free port), protected as the settings say.

    With `shared_port` (a worker of `engagement serve --workers N`) the port is shared with
    the host's other workers through SO_REUSEPORT, and health stays NOT_SERVING until
    `RunningServer.release_health`.
    """
    security = security or ServerSecurity.from_settings(app.settings)
    # The first interceptor is the outermost. Authentication first, so that the caller (and
    # its request id) is set for error mapping and the limits, and a caller without
    # credentials learns nothing from validation; the error mapping then sees what the
    # limits and the request checks refuse.
    limits = limits_of(app)
    metrics = app.metrics if app.settings.metrics_address else None
    interceptors = [
        # Outermost: the request id is bound for every log line, refusals are counted too.
        TelemetryInterceptor(metrics, access=app.settings.access_log),
        AuthInterceptor(security.authenticator),
        ErrorMappingInterceptor(lambda store: app.metrics.store_errors.labels(store).inc()),
        limits,
        RequestCheckInterceptor(RequestChecks()),
    ]
    # Without SO_REUSEPORT a second instance on a busy port fails instead of sharing it;
    # the workers of one host share theirs on purpose, and the kernel spreads connections.
    options = [("grpc.so_reuseport", 1 if shared_port else 0)]
    server = grpc.aio.server(interceptors=interceptors, options=options)
    for offered in SERVICES:
        offered.register(app, server)
    servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", *SERVICE_NAMES):
        await servicer.set(name, _NOT_SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    check_bindable(address, shared=shared_port)
    if security.credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, security.credentials)
    await server.start()
    probe = HealthProbe(app, servicer, held=shared_port)
    return RunningServer(server, port, servicer, probe, limits)
