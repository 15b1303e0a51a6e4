"""Which `engagement` command lines go to the ops commands, and which to the service's own."""

from __future__ import annotations

from service.ops.dispatch import handles


def test_ops_commands_are_told_apart_after_their_connection_flags() -> None:
    assert handles(["apply", "-f", "game"])
    assert handles(["--address", "h:1", "--plaintext", "grants", "stats"])
    assert handles(["--token=t", "backfill", "x.jsonl"])
    assert handles(["ops", "--help"])
    for service_command in (["serve"], ["token", "--subject", "apply"], ["dev"], ["--help"], []):
        assert not handles(service_command), service_command
