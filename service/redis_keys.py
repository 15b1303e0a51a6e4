"""Redis names the service itself uses; leaderboard keys are spelled in leaderboard/keys.py."""

from __future__ import annotations


def definitions_channel(prefix: str) -> str:
    """Pub/sub channel announcing that a definition changed, so replicas reload theirs."""
    return f"{prefix}:definitions"


def seen_key(stream: str) -> str:
    """The loyalty stream's dedup set, in the stream's Redis Cluster slot (same hash tag)."""
    start = stream.find("{")
    if start >= 0 and stream.find("}", start + 1) > start + 1:
        return f"{stream}:seen"
    return f"{{{stream}}}:seen"
