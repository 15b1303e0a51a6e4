"""The `engagement` command line: serve, migrate, relay, token, api-key, loyalty-stub, dev
(`make run`), and the game-ops commands (service/ops)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import sqlalchemy.exc

from service.adapters.outbox.runner import start_relay
from service.adapters.postgres import migrate
from service.bootstrap import App, build_app, build_engine
from service.entrypoints.board_upkeep import start_board_upkeep
from service.entrypoints.grpc_api.security import ServerSecurity
from service.entrypoints.grpc_api.server import start_server
from service.entrypoints.grpc_api.tokens import (
    api_key_entry,
    issue_token,
    new_api_key,
    parse_scopes,
)
from service.loyalty_stub.server import load_stub_settings, serve_stub
from service.observability.exposition import (
    Exposition,
    OutboxGauges,
    follow_outbox,
    start_exposition,
)
from service.observability.logs import configure_logging
from service.observability.tracing import start_tracing
from service.ops import dispatch as ops
from service.settings import (
    ENV_PREFIX,
    AuthSettings,
    DatabaseSettings,
    Settings,
    SettingsError,
    load_settings,
)
from service.workers import WorkerLink, supervise

log = logging.getLogger("service")


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop when it is installed: it serves noticeably more calls per second."""
    try:
        import uvloop  # noqa: PLC0415 - optional on platforms without it
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _wait_for_signal(stop: asyncio.Event | None = None) -> None:
    """Return on SIGTERM or SIGINT, or once `stop` is set."""
    if stop is None:
        stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _start_metrics(app: App, *, supervised: bool, duties: bool) -> Exposition | OutboxGauges | None:
    """The metrics endpoint the settings ask for. Under a supervisor, which serves the sum of
    its workers' metrics itself, only the outbox gauges, and only in the worker with duties."""
    settings = app.settings
    if not settings.metrics_address:
        return None
    if supervised:
        refresh = settings.metrics_refresh_seconds
        return follow_outbox(app.metrics, app.grant_store, refresh) if duties else None
    exposition = start_exposition(
        settings.metrics_address, app.metrics, app.grant_store, settings.metrics_refresh_seconds
    )
    log.info("serving metrics on http://%s/metrics", settings.metrics_address)
    return exposition


async def serve(
    settings: Settings,
    banner: str = "",
    on_serving: Callable[[str], Awaitable[None]] | None = None,
    worker: WorkerLink | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls and close the pools;
    `on_serving` hears the address once calls are taken. As a `worker` of `serve --workers N`
    it shares the port, and does the background duties only if it is the one that has them."""
    security = ServerSecurity.from_settings(settings)  # refuses before touching any store
    stop_tracing = start_tracing(settings.tracing)  # before the server and clients exist
    app = build_app(settings)
    duties = worker is None or worker.runs_duties
    metrics = None
    try:
        await migrate.ensure_at_head(app.engine)
        # First: a taken port then leaves nothing running.
        metrics = _start_metrics(app, supervised=worker is not None, duties=duties)
        running = await start_server(
            app, settings.grpc_address, security, shared_port=worker is not None
        )
        relay = start_relay(app) if settings.relay_in_process and duties else None
        upkeep = start_board_upkeep(app, duties=duties)
        host = settings.grpc_address.rpartition(":")[0]
        address = f"{host}:{running.port}"
        log.info("serving gRPC on %s%s", address, f" as worker {worker.index}" if worker else "")
        if banner:
            print(banner.format(address=address), flush=True)
        if on_serving is not None:
            await on_serving(address)
        await _serve_until_stopped(running.release_health, worker)
        log.info("shutting down; draining for up to %ss", settings.shutdown_grace_seconds)
        await running.stop(settings.shutdown_grace_seconds)
        await upkeep.stop()
        if relay is not None:
            await relay.stop(settings.shutdown_grace_seconds)
    finally:
        if metrics is not None:
            await metrics.stop()
        await app.close()
        stop_tracing()
    return 0


async def _serve_until_stopped(
    release_health: Callable[[], None], worker: WorkerLink | None
) -> None:
    """Wait for SIGTERM or SIGINT; a worker also for its supervisor to go away, and it tells
    the supervisor it serves (which says when health may report SERVING)."""
    if worker is None:
        await _wait_for_signal()
        return
    stop = asyncio.Event()
    link = asyncio.create_task(worker.serving(release_health, stop), name="supervisor-link")
    try:
        await _wait_for_signal(stop)
    finally:
        worker.close()
        await link


async def serve_relay(settings: Settings) -> int:
    """Deliver the grant outbox until SIGTERM or SIGINT, without serving the API."""
    if settings.loyalty_sink == "none":
        raise SettingsError(f"{ENV_PREFIX}LOYALTY_SINK: set grpc or redis_stream to run a relay")
    app = build_app(settings)
    try:
        await migrate.ensure_at_head(app.engine)
        running = start_relay(app)
        assert running is not None
        await _wait_for_signal()
        log.info("stopping; finishing batches for up to %ss", settings.shutdown_grace_seconds)
        await running.stop(settings.shutdown_grace_seconds)
    finally:
        await app.close()
    return 0


async def _loyalty_stub() -> int:
    return await serve_stub(load_stub_settings(), _wait_for_signal)


async def _migrate(settings: DatabaseSettings) -> int:
    engine = build_engine(settings)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    log.info("database is at revision %s", migrate.head_revision())
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = load_settings(AuthSettings)
    if not settings.jwt_hs256_secrets:
        raise SettingsError(f"{ENV_PREFIX}JWT_HS256_SECRETS: is required to issue tokens")
    token = issue_token(
        settings.jwt_hs256_secrets[0], args.subject, args.scope, args.ttl,
        audience=settings.jwt_audience, issuer=settings.jwt_issuer,
    )  # fmt: skip
    print(token)
    return 0


def _api_key(args: argparse.Namespace) -> int:
    key = new_api_key()
    print(key)
    print(json.dumps(api_key_entry(args.name, key, args.scope)))
    print(
        f"The key above is shown once: give it to {args.name}. "
        f"Add the JSON entry to the {ENV_PREFIX}API_KEYS list.",
        file=sys.stderr,
    )
    return 0


def _scopes(text: str) -> list[str]:
    try:
        return parse_scopes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _key_scopes(text: str) -> list[str]:
    scopes = _scopes(text)
    if "player" in scopes:
        raise argparse.ArgumentTypeError("API keys are for services: use service and/or ops")
    return scopes


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 256")
    return int(text)


def _ttl(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 366 * 86400:
        raise argparse.ArgumentTypeError("must be whole seconds from 1 to 31622400 (366 days)")
    return int(text)


def _credential_commands(commands: Any) -> None:
    token = commands.add_parser(
        "token", help="print an HS256 JWT signed with the first ENGAGEMENT_JWT_HS256_SECRETS"
    )
    token.add_argument("--subject", required=True, help="user id (player) or caller name")
    token.add_argument("--scope", required=True, type=_scopes, help='e.g. "ops service"')
    token.add_argument("--ttl", type=_ttl, default=3600, help="seconds until it expires")
    key = commands.add_parser(
        "api-key", help="print a new API key once and its ENGAGEMENT_API_KEYS entry"
    )
    key.add_argument("--name", required=True, help="the service the key is for")
    key.add_argument("--scope", required=True, type=_key_scopes, help='"service" and/or "ops"')


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engagement", description=__doc__, epilog=ops.HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser(
        "serve", help="serve the gRPC API (configured by ENGAGEMENT_* variables)"
    )
    serve_command.add_argument(
        "--workers", type=_workers, default=None,
        help="server processes sharing the port (default: ENGAGEMENT_WORKERS, else one per "
        "CPU); 1 serves in this process alone",
    )  # fmt: skip
    # How a supervisor starts each of its workers; not for people.
    serve_command.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    serve_command.add_argument("--supervisor-fd", type=int, default=None, help=argparse.SUPPRESS)
    commands.add_parser("migrate", help="apply database migrations up to the newest revision")
    commands.add_parser("relay", help="deliver the grant outbox to the loyalty system, alone")
    commands.add_parser(
        "loyalty-stub",
        help="serve the reference loyalty stub (a test double; ENGAGEMENT_LOYALTY_STUB_*)",
    )
    commands.add_parser(
        "dev", help="migrate, load a demo program and serve, starting embedded servers as needed"
    )
    _credential_commands(commands)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "token":
        return _token(args)
    if command == "api-key":
        return _api_key(args)
    if command == "dev":
        from service.dev import run_dev  # noqa: PLC0415 - needs the optional embedded extra

        return run_dev()
    if command == "loyalty-stub":
        return run(_loyalty_stub())
    if command == "migrate":
        return run(_migrate(load_settings(DatabaseSettings)))
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_format)
    return run(serve_relay(settings)) if command == "relay" else _serve(settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """One process, a worker of a supervisor, or the supervisor of `--workers` workers."""
    if args.workers is not None:
        settings = settings.model_copy(update={"workers": args.workers})
    if args.supervisor_fd is not None:

        async def as_worker() -> int:
            link = await WorkerLink.open(args.worker_index, args.supervisor_fd)
            return await serve(settings, worker=link)

        return run(as_worker())
    if settings.workers > 1:
        # Plain asyncio: the supervisor serves no calls, and starts its workers with pass_fds.
        return asyncio.run(supervise(settings))
    return run(serve(settings))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `engagement` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if ops.handles(argv):
        return ops.run_ops(argv)
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return _dispatch(args)
    except (SettingsError, migrate.SchemaOutOfDate) as exc:
        print(f"engagement: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        print(f"engagement: cannot reach Postgres: {exc}", file=sys.stderr)
        return 3
