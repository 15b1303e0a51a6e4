"""The typer app behind the ops commands of `engagement`."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from service.game.loader import GameFileError
from service.ops import board_commands, game_commands, grant_commands, rule_commands
from service.ops.backfill_command import backfill
from service.ops.context import connect, fail
from service.ops.errors import OpsError, explain

app = typer.Typer(
    name="engagement",
    callback=connect,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Game ops over the admin API.",
)
app.command()(game_commands.apply)
app.command()(game_commands.diff)
app.command()(game_commands.get)
app.command()(board_commands.finalize)
app.command()(board_commands.rebuild)
app.command()(board_commands.export)
app.command()(board_commands.leaderboard)
app.command()(rule_commands.explain)
app.command("dry-run")(rule_commands.dry_run)
app.command()(backfill)
app.add_typer(grant_commands.grants, name="grants")


def main(argv: Sequence[str]) -> int:
    """Runs an ops command; `engagement ops --help` lists them."""
    args = list(argv[1:]) if argv[:1] == ["ops"] else list(argv)
    try:
        app(args or ["--help"], prog_name="engagement")
    except SystemExit as done:  # typer's way of ending, usage errors included
        return done.code if isinstance(done.code, int) else 0
    except (GameFileError, OpsError, OSError) as exc:  # raised before a command connects
        return _report(exc)
    return 0


def _report(error: GameFileError | OpsError | OSError) -> int:
    try:
        fail(explain(error, ""))
    except typer.Exit as done:
        return int(done.exit_code)
