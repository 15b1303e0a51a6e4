"""Redis names the service itself uses (leaderboard keys are spelled in leaderboard/keys.py)."""

from __future__ import annotations


def definitions_channel(prefix: str) -> str:
    """Pub/sub channel announcing that a definition changed, so replicas reload theirs."""
    return f"{prefix}:definitions"
