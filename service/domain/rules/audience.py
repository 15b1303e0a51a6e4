"""Who a definition applies to: level, segments and the stable rollout bucket."""

from __future__ import annotations

import hashlib

from service.domain.rules.state import Profile

BUCKETS = 100


def rollout_bucket(definition_id: str, user_id: str) -> int:
    """A bucket 0..99 that never changes for this user and definition.

    Hashing the definition id with the user id spreads each definition's rollout over a
    different set of users, so a 5% release of two tasks does not hit the same 5%.
    """
    digest = hashlib.sha256(f"{definition_id}\x00{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_rollout(definition_id: str, user_id: str, percent: int) -> bool:
    # Most definitions reach everyone: no hash on every event for them.
    return percent >= BUCKETS or rollout_bucket(definition_id, user_id) < percent


def audience_gap(min_level: int, segments: tuple[str, ...], profile: Profile) -> str:
    """Why the user is outside the audience, or "" when inside."""
    if profile.level < min_level:
        return f"requires level {min_level}, user is level {profile.level}"
    if segments and not set(segments) & set(profile.segments):
        return f"requires one of the segments {', '.join(segments)}"
    return ""
