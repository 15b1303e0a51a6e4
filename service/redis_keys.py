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


def _user_tag(prefix: str, user_id: str) -> str:
    # Hashed: any user id makes a valid hash tag (braces inside one would move it), and the
    # key names no user.
    digest = hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{{{prefix}:live:{digest}}}"


def live_feed_key(prefix: str, user_id: str) -> str:
    """STREAM of a user's live updates, trimmed by age and length."""
    return _user_tag(prefix, user_id) + ":feed"


def live_meta_key(prefix: str, user_id: str) -> str:
    """HASH beside a user's feed, in its slot: `last` (the newest id added) and `floor` (the
    newest id trimmed away), which tell a resuming watcher whether it missed anything."""
    return _user_tag(prefix, user_id) + ":meta"


def live_board_key(prefix: str, board_id: str, partition: str, period_id: str, rookie: bool) -> str:
    """STRING counter of a board-period, raised whenever its scores change: watchers re-read
    their rank there only after it moved. Board, partition and period ids hold no braces."""
    kind = "rookie" if rookie else "main"
    return f"{{{prefix}:live-board:{board_id}:{partition}:{period_id}:{kind}}}"
