"""The grpc.aio server: our services, health checking, reflection and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import grpc
import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from service.adapters.rate_limits import Rate, RateLimits
from service.bootstrap import App
from service.entrypoints.grpc_api.audit_servicer import AuditAdminServicer
from service.entrypoints.grpc_api.auth import AuthInterceptor
from service.entrypoints.grpc_api.check_in_servicer import CheckInAdminServicer, CheckInServicer
from service.entrypoints.grpc_api.errors import ErrorMappingInterceptor
from service.entrypoints.grpc_api.grants_servicer import GrantAdminServicer
from service.entrypoints.grpc_api.leaderboard_servicer import (
    LeaderboardAdminServicer,
    LeaderboardServicer,
)
from service.entrypoints.grpc_api.league_servicer import LeagueAdminServicer, LeagueServicer
from service.entrypoints.grpc_api.limits import LimitsInterceptor
from service.entrypoints.grpc_api.privacy_servicer import PrivacyAdminServicer
from service.entrypoints.grpc_api.request_checks import RequestCheckInterceptor, RequestChecks
from service.entrypoints.grpc_api.rules_servicer import (
    EventServicer,
    PlayerServicer,
    RulesAdminServicer,
)
from service.entrypoints.grpc_api.security import ServerSecurity
from service.gen.engagement.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    check_in_admin_pb2,
    check_in_admin_pb2_grpc,
    check_in_pb2,
    check_in_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    grants_pb2,
    grants_pb2_grpc,
    leaderboard_pb2,
    leaderboard_pb2_grpc,
    leagues_pb2,
    leagues_pb2_grpc,
    player_pb2,
    player_pb2_grpc,
    privacy_pb2,
    privacy_pb2_grpc,
    rules_admin_pb2,
    rules_admin_pb2_grpc,
)

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    check_in_pb2.DESCRIPTOR.services_by_name["CheckInService"].full_name,
    check_in_admin_pb2.DESCRIPTOR.services_by_name["CheckInAdminService"].full_name,
    grants_pb2.DESCRIPTOR.services_by_name["GrantAdminService"].full_name,
    leaderboard_pb2.DESCRIPTOR.services_by_name["LeaderboardService"].full_name,
    leaderboard_pb2.DESCRIPTOR.services_by_name["LeaderboardAdminService"].full_name,
    events_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
    player_pb2.DESCRIPTOR.services_by_name["PlayerService"].full_name,
    rules_admin_pb2.DESCRIPTOR.services_by_name["RulesAdminService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditAdminService"].full_name,
    privacy_pb2.DESCRIPTOR.services_by_name["PrivacyAdminService"].full_name,
    leagues_pb2.DESCRIPTOR.services_by_name["LeagueService"].full_name,
    leagues_pb2.DESCRIPTOR.services_by_name["LeagueAdminService"].full_name,
)
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

    It stops on an event rather than by cancellation: cancelling a task inside a database
    call can leave the driver's connection half-closed.
    """

    def __init__(self, app: App, servicer: HealthServicer) -> None:
        self._app = app
        self._servicer = servicer
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="health-probe")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            status = _SERVING if await stores_answer(self._app) else _NOT_SERVING
            for name in ("", *SERVICE_NAMES):
                await self._servicer.set(name, status)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._app.settings.health_interval_seconds):
                    await self._stopping.wait()

    async def stop(self) -> None:
        self._stopping.set()
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


async def start_server(
    app: App, address: str, security: ServerSecurity | None = None
) -> RunningServer:
    """Start serving on `address` (port 0 picks a free port), protected as the settings say."""
    security = security or ServerSecurity.from_settings(app.settings)
    # The first interceptor is the outermost. Authentication first, so that the caller (and
    # its request id) is set for error mapping and the limits, and a caller without
    # credentials learns nothing from validation; the error mapping then sees what the
    # limits and the request checks refuse.
    limits = limits_of(app)
    interceptors = [
        AuthInterceptor(security.authenticator),
        ErrorMappingInterceptor(),
        limits,
        RequestCheckInterceptor(RequestChecks()),
    ]
    # Without SO_REUSEPORT a second instance on a busy port fails instead of sharing it.
    server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
    check_in_pb2_grpc.add_CheckInServiceServicer_to_server(CheckInServicer(app), server)
    check_in_admin_pb2_grpc.add_CheckInAdminServiceServicer_to_server(
        CheckInAdminServicer(app), server
    )
    grants_pb2_grpc.add_GrantAdminServiceServicer_to_server(GrantAdminServicer(app), server)
    leaderboard_pb2_grpc.add_LeaderboardServiceServicer_to_server(LeaderboardServicer(app), server)
    leaderboard_pb2_grpc.add_LeaderboardAdminServiceServicer_to_server(
        LeaderboardAdminServicer(app), server
    )
    events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(app), server)
    player_pb2_grpc.add_PlayerServiceServicer_to_server(PlayerServicer(app), server)
    rules_admin_pb2_grpc.add_RulesAdminServiceServicer_to_server(RulesAdminServicer(app), server)
    audit_pb2_grpc.add_AuditAdminServiceServicer_to_server(AuditAdminServicer(app), server)
    privacy_pb2_grpc.add_PrivacyAdminServiceServicer_to_server(PrivacyAdminServicer(app), server)
    leagues_pb2_grpc.add_LeagueServiceServicer_to_server(LeagueServicer(app), server)
    leagues_pb2_grpc.add_LeagueAdminServiceServicer_to_server(LeagueAdminServicer(app), server)
    servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", *SERVICE_NAMES):
        await servicer.set(name, _NOT_SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if security.credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, security.credentials)
    await server.start()
    return RunningServer(server, port, servicer, HealthProbe(app, servicer), limits)
