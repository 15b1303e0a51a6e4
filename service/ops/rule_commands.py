"""`engagement explain` and `dry-run`: insight into rules, for game ops."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from engagement_client.gen.engagement.v1 import definitions_pb2 as defs_pb
from engagement_client.gen.engagement.v1 import rules_admin_pb2 as pb
from service.game.kinds import wrap
from service.game.loader import load_game
from service.ops.context import fail, out, run
from service.ops.errors import INVALID, OpsError
from service.ops.grant_commands import describe_reward


class Explained(StrEnum):
    TASK = "task"
    BADGE = "badge"


def explain(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="user id")],
    kind: Annotated[Explained, typer.Argument()],
    definition_id: Annotated[str, typer.Argument(metavar="ID")],
) -> None:
    """Why a user has (or lacks) progress and rewards on a task or badge."""
    request = pb.ExplainProgressRequest(
        user_id=user, kind=defs_pb.DefinitionKind.Value(f"DEFINITION_KIND_{kind.upper()}"),
        definition_id=definition_id,
    )  # fmt: skip
    answer = run(ctx, lambda client: client.rules_admin.ExplainProgress(request))
    table = Table("check", "holds", "detail",
                  title=f"{kind} {definition_id} v{answer.version} for {user}")  # fmt: skip
    for check in answer.checks:
        table.add_row(check.name, "yes" if check.holds else "[red]no[/red]", check.detail)
    out.print(table)
    out.print(f"progress {answer.progress} of {answer.target}", markup=False)
    if answer.reason:
        out.print(f"no reward: {answer.reason}", markup=False)


def dry_run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("-f", "--file", help="a game file with one task or badge")],
    days: Annotated[int, typer.Option("--days", min=1, max=90)] = 7,
) -> None:
    """Replay the last days' events against a draft task or badge, storing nothing."""
    resources = [r for r in load_game([file]) if r.kind.name in ("task", "badge")]
    if len(resources) != 1:
        fail(OpsError(f"{file}: needs exactly one task or badge, found {len(resources)}", INVALID))
    draft = resources[0]
    definition = wrap(draft.kind.name, draft.message)
    request = pb.DryRunDefinitionRequest(definition=definition, days=days)
    answer = run(ctx, lambda client: client.rules_admin.DryRunDefinition(request))
    out.print(
        f"{draft.kind.name} {draft.id} over {answer.days} days: {answer.events_evaluated} events "
        f"of {answer.users_evaluated} users; {answer.users_completing} would complete it.",
        markup=False,
    )
    for reward in answer.grant_cost:
        out.print(f"  would grant {describe_reward(reward)} in all", markup=False)
