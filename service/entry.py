"""The `engagement` console script: game-ops commands start without loading the server's code."""

from __future__ import annotations

import sys

from service.ops import dispatch


def main(argv: list[str] | None = None) -> int:
    """Ops commands go to the typer app; every other command to the service's command line."""
    argv = sys.argv[1:] if argv is None else argv
    if dispatch.handles(argv):
        return dispatch.run_ops(argv)
    from service.cli import main as service_main  # noqa: PLC0415 - loads the whole server

    return service_main(argv)
