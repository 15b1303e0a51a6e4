"""Which `engagement` command lines are ops commands; importing it loads nothing heavy."""

from __future__ import annotations

from collections.abc import Sequence

COMMANDS = frozenset(
    ("apply", "diff", "get", "finalize", "rebuild", "export", "leaderboard", "explain",
     "dry-run", "backfill", "grants", "ops")
)  # fmt: skip
# The connection flags that may come before an ops command (`engagement --token t apply`).
VALUE_FLAGS = ("--address", "--token", "--ca-file", "--cert-file", "--key-file", "--timeout")
BOOL_FLAGS = ("--plaintext", "--tls")
HELP = (
    "game ops (over gRPC, see `engagement ops --help`): apply, diff, get, finalize, rebuild, "
    "export, leaderboard, explain, dry-run, backfill, grants"
)


def handles(argv: Sequence[str]) -> bool:
    """Whether the first word after the connection flags is an ops command."""
    words = iter(argv)
    for word in words:
        if word in VALUE_FLAGS:
            next(words, None)
        elif not (word.split("=", 1)[0] in VALUE_FLAGS or word in BOOL_FLAGS):
            return word in COMMANDS
    return False


def run_ops(argv: Sequence[str]) -> int:
    from service.ops.app import main  # noqa: PLC0415 - typer and rich only for ops commands

    return main(argv)
