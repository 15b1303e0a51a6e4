"""The connection options every ops command shares, and running a command's coroutine."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from engagement_client import ClientOptions, EngagementClient
from service.ops.errors import OpsError, explain

T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Connection:
    """Where the commands connect, from flags over ENGAGEMENT_* variables."""

    options: ClientOptions

    def client(self) -> EngagementClient:
        return EngagementClient(self.options)


def connection(ctx: typer.Context) -> Connection:
    found = ctx.find_object(Connection)
    assert found is not None, "the ops callback sets the connection"
    return found


def run(ctx: typer.Context, work: Callable[[EngagementClient], Awaitable[T]]) -> T:
    """Runs `work` with a client; a failure ends the command with one line and its exit code."""
    conn = connection(ctx)

    async def main() -> T:
        async with conn.client() as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except Exception as exc:  # noqa: BLE001 - every expected failure becomes one line
        fail(explain(exc, conn.options.address))


def fail(error: OpsError) -> NoReturn:
    err.print(f"engagement: {error}", markup=False)
    sys.stderr.flush()
    raise typer.Exit(error.code)


def connect(
    ctx: typer.Context,
    *,
    address: Annotated[str | None, typer.Option(help="host:port (env ENGAGEMENT_ADDRESS)")] = None,
    token: Annotated[
        str | None, typer.Option(help="bearer token or API key (env ENGAGEMENT_TOKEN)")
    ] = None,
    plaintext: Annotated[
        bool | None,
        typer.Option(
            "--plaintext/--tls", help="no TLS: development only (env ENGAGEMENT_PLAINTEXT)"
        ),
    ] = None,
    ca_file: Annotated[
        str | None, typer.Option(help="CA certificate to trust (PEM) (env ENGAGEMENT_CA_FILE)")
    ] = None,
    cert_file: Annotated[
        str | None,
        typer.Option(help="client certificate, for mTLS (env ENGAGEMENT_CLIENT_CERT_FILE)"),
    ] = None,
    key_file: Annotated[
        str | None, typer.Option(help="client key, for mTLS (env ENGAGEMENT_CLIENT_KEY_FILE)")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="deadline of each call in seconds (env ENGAGEMENT_TIMEOUT_SECONDS)"),
    ] = None,
) -> None:
    """Game ops over the admin API."""
    try:
        options = ClientOptions.from_env(
            address=address, token=token, plaintext=plaintext, ca_file=ca_file,
            cert_file=cert_file, key_file=key_file, timeout_seconds=timeout,
        )  # fmt: skip
    except ValueError as exc:
        fail(OpsError(str(exc), 2))
    ctx.obj = Connection(options)
