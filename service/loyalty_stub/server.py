"""Starting the stub's grpc.aio server: in a test's event loop, or as `engagement loyalty-stub`."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.gen.loyalty.stub.v1 import control_pb2_grpc
from service.gen.loyalty.v1 import loyalty_pb2_grpc
from service.loyalty_stub.faults import FaultInjector, Faults
from service.loyalty_stub.ledger import GrantLedger
from service.loyalty_stub.servicer import LoyaltyStubServicer, StubControlServicer
from service.settings import SettingsError

STUB_ENV_PREFIX = "ENGAGEMENT_LOYALTY_STUB_"
READY_LINE = "loyalty stub listening on {host}:{port}"


class StubSettings(BaseSettings):
    """The stub's own settings; it needs no database."""

    model_config = SettingsConfigDict(env_prefix=STUB_ENV_PREFIX, frozen=True)

    address: str = "127.0.0.1:50052"
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    failure_mode: Literal["before_apply", "after_apply"] = "before_apply"
    delay_seconds: float = Field(default=0.0, ge=0, le=60)
    seed: int | None = None

    def faults(self) -> Faults:
        return Faults(self.failure_rate, self.failure_mode == "after_apply", self.delay_seconds)


def load_stub_settings() -> StubSettings:
    """Read the environment; raise SettingsError naming the variable."""
    try:
        return StubSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = STUB_ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else STUB_ENV_PREFIX
        raise SettingsError(f"{name}: {error['msg']}") from exc


@dataclass
class RunningStub:
    """A started stub; `ledger` and `injector` can be inspected and changed in-process."""

    server: grpc.aio.Server
    port: int
    ledger: GrantLedger
    injector: FaultInjector

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        await self.server.stop(grace)


async def start_stub(
    address: str = "127.0.0.1:0",
    *,
    ledger: GrantLedger | None = None,
    faults: Faults | None = None,
    seed: int | None = None,
) -> RunningStub:
    """Serve the stub on `address` (port 0 picks one); pass a `ledger` to keep grants across
    a stop and a restart."""
    ledger = ledger if ledger is not None else GrantLedger()
    injector = FaultInjector(faults or Faults(), random.Random(seed))
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server(
        LoyaltyStubServicer(ledger, injector), server
    )
    control_pb2_grpc.add_StubControlServiceServicer_to_server(
        StubControlServicer(ledger, injector), server
    )
    # Health Check is the no-op RPC the relay benchmark measures beside the relay.
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    port = server.add_insecure_port(address)
    await server.start()
    return RunningStub(server, port, ledger, injector)


async def serve_stub(settings: StubSettings, until: Callable[[], Awaitable[None]]) -> int:
    """Serve until `until` returns, printing READY_LINE once listening."""
    running = await start_stub(settings.address, faults=settings.faults(), seed=settings.seed)
    host = settings.address.rpartition(":")[0]
    print(READY_LINE.format(host=host, port=running.port), flush=True)
    try:
        await until()
    finally:
        await running.stop(1.0)
    return 0
