"""Stores going away and coming back, and bugs, as a caller sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from sqlalchemy.engine import make_url

from service.bootstrap import App, build_app
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.health import wait_for_health
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.proxy import CuttableProxy

pytestmark = pytest.mark.e2e

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def postgres_proxy(database_url: str) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(database_url)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def proxied_server(
    settings: Settings, postgres_proxy: CuttableProxy, engine: object, clock: MovableClock
) -> AsyncIterator[tuple[RunningServer, App]]:
    url = make_url(settings.database_url).set(host="127.0.0.1", port=postgres_proxy.port)
    proxied = settings.model_copy(
        update={
            "database_url": url.difference_update_query(["host"]).render_as_string(False),
            "db_timeout_seconds": 2.0,
        }
    )
    app = build_app(proxied, clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    yield running, app
    await running.stop(0)
    await app.close()


async def test_postgres_outage_is_unavailable_and_heals_without_restart(
    proxied_server: tuple[RunningServer, App], postgres_proxy: CuttableProxy
) -> None:
    running, _ = proxied_server
    async with auth.channel(running.port) as channel:
        stub = pb_grpc.CheckInServiceStub(channel)
        await wait_for_health(channel, SERVING)
        await stub.CheckIn(pb.CheckInRequest(user_id="eve", timezone="UTC"))

        postgres_proxy.disconnect()
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetStreak(pb.GetStreakRequest(user_id="eve"))
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "Traceback" not in str(raised.value.details())
        await wait_for_health(channel, NOT_SERVING)

        postgres_proxy.restore()
        await wait_for_health(channel, SERVING)
        streak = await stub.GetStreak(pb.GetStreakRequest(user_id="eve"))
        assert streak.streak.current == 1


class ExplodingClock:
    """A clock whose failure stands in for any bug in a handler."""

    def now(self) -> object:
        raise RuntimeError("secret internal detail")


async def test_a_bug_is_internal_with_a_request_id_and_no_details(
    settings: Settings, engine: object
) -> None:
    app = build_app(settings, clock=ExplodingClock())  # type: ignore[arg-type]
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port) as channel:
            stub = pb_grpc.CheckInServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.CheckIn(
                    pb.CheckInRequest(user_id="fay", timezone="UTC"),
                    metadata=(("x-request-id", "req-42"),),
                )
    finally:
        await running.stop(0)
        await app.close()

    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert raised.value.details() == "internal error (request id req-42)"
