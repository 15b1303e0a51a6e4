"""Redis names the service itself uses; leaderboard keys are spelled in leaderboard/keys.py."""

from __future__ import annotations

import hashlib


def definitions_channel(prefix: str) -> str:
    """Pub/sub channel announcing that a definition changed, so replicas reload theirs."""
    return f"{prefix}:definitions"


def seen_key(stream: str) -> str:
    """The loyalty stream's dedup set, in the stream's Redis Cluster slot (same hash tag)."""
    start = stream.find("{")
    if start >= 0 and stream.find("}", start + 1) > start + 1:
        return f"{stream}:seen"
    return f"{{{stream}}}:seen"


def rate_limit_key(prefix: str, kind: str, identity: str) -> str:
    """Token bucket of a user or credential (`kind`). The hash tag is the identity alone, so a
    player calling for itself has both its buckets in one Redis Cluster slot; it is hashed,
    so no user id is kept in a key (buckets outlive nothing, but an erasure finds none)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{{{prefix}:rate:{digest}}}:{kind}"
