"""`engagement apply`, `diff` and `get`: the game files against what is live."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from google.protobuf.message import Message
from rich.table import Table

from engagement_client import EngagementClient
from service.game.apply import Applied, apply_plan
from service.game.kinds import BY_NAME, KINDS, Kind
from service.game.loader import load_game
from service.game.messages import to_spec
from service.game.plan import Plan, make_plan
from service.ops.context import out, run
from service.ops.errors import NOT_FOUND, OpsError

Files = Annotated[
    list[Path], typer.Option("-f", "--file", help="a game file or a folder of them; repeatable")
]
_COLOURS = {"+": "green", "-": "red", "@": "cyan"}


def _print_plan(plan: Plan) -> None:
    for change in plan.pending:
        version = (
            ""
            if change.live is None
            else f" (live version {change.resource.kind.version_of(change.live)})"
        )
        where = change.resource.where
        out.print(f"[bold]{change.label}[/bold]: {change.action}{version}  [dim]{where}[/dim]")
        for line in change.diff():
            out.print(f"  {line}", style=_COLOURS.get(line[:1], "dim"), markup=False)
    unchanged = len(plan.changes) - len(plan.pending)
    if unchanged:
        out.print(f"{unchanged} unchanged.")


def _print_applied(applied: list[Applied]) -> None:
    table = Table("resource", "action", "version", title="Applied")
    for item in applied:
        before = "new" if item.old_version == 0 else str(item.old_version)
        table.add_row(item.change.label, str(item.change.action), f"{before} -> {item.new_version}")
    out.print(table)


def apply(
    ctx: typer.Context,
    files: Files,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the diff, change nothing")
    ] = False,
) -> None:
    """Create or update the definitions the game files describe; unchanged ones stay as they are."""
    resources = load_game(files)  # every file is checked before anything is sent

    async def work(client: EngagementClient) -> list[Applied] | None:
        plan = await make_plan(client, resources)
        if not plan.pending:
            out.print(f"Nothing to change: the {len(plan.changes)} resources match what is live.")
            return None
        _print_plan(plan)
        if dry_run:
            out.print(f"Dry run: {len(plan.pending)} to change, nothing sent.")
            return None
        return await apply_plan(client, plan)

    applied = run(ctx, work)
    if applied:
        _print_applied(applied)


def diff(ctx: typer.Context, files: Files) -> None:
    """Show where what is live differs from the game files (drift); exit 1 when it does."""
    resources = load_game(files)
    plan = run(ctx, lambda client: make_plan(client, resources))
    _print_plan(plan)
    for kind, resource_id in plan.unmanaged:
        out.print(f"[bold]{kind} {resource_id}[/bold]: live, in no file")
    if plan.pending or plan.unmanaged:
        raise typer.Exit(1)
    out.print("No drift: what is live matches the files.")


class Output(StrEnum):
    TABLE = "table"
    YAML = "yaml"


def _kind(name: str) -> Kind:
    found = BY_NAME.get(name) or BY_NAME.get(name.removesuffix("s"))
    if found is None:
        raise OpsError(f"unknown kind {name!r}: one of {', '.join(BY_NAME)}", 2)
    return found


def _documents(kind: Kind, messages: list[Message]) -> str:
    docs = [{"kind": kind.name, "spec": to_spec(m, kind.output_only)} for m in messages]
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=100)


def _table(kind: Kind, messages: list[Message]) -> Table:
    table = Table("id", "version", "title", title=kind.name)
    for message in messages:
        title = (
            str(getattr(message, "title", ""))
            if "title" in message.DESCRIPTOR.fields_by_name
            else ""
        )
        table.add_row(kind.id_of(message), str(kind.version_of(message)), title)
    return table


def get(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=", ".join(k.name for k in KINDS))],
    resource_id: Annotated[str | None, typer.Argument(metavar="[ID]")] = None,
    output: Annotated[Output, typer.Option("-o", "--output")] = Output.TABLE,
) -> None:
    """Print what is live: one resource or every one of a kind, as a table or as a game file."""
    try:
        found = _kind(kind)
    except OpsError as exc:
        from service.ops.context import fail  # noqa: PLC0415

        fail(exc)

    async def work(client: EngagementClient) -> list[Message]:
        if resource_id is None:
            return await found.list_all(client)
        one = await found.get(client, resource_id)
        if one is None:
            raise OpsError(f"not found: {found.name} {resource_id}", NOT_FOUND)
        return [one]

    messages = run(ctx, work)
    if output == Output.YAML:
        out.print(_documents(found, messages), end="", markup=False)
    else:
        out.print(_table(found, messages))
