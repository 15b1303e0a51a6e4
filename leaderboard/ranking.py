"""Pure rank arithmetic for every tie policy, from the counts one Lua call reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leaderboard.models import TiePolicy


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where the first entry of a slice (or a single member) stands on the whole board."""

    position: int  # 0-based place in the unique order (stored score, then encoded member)
    ahead: int  # members with a strictly better stored score
    distinct_ahead: int  # distinct stored scores strictly better than this one


TOP = Anchor(0, 0, 0)


def slice_ranks(stored_scores: Sequence[int], anchor: Anchor, policy: TiePolicy) -> list[int]:
    """Ranks of consecutive entries of the unique order whose first entry is at `anchor`."""
    ranks: list[int] = []
    for offset, stored in enumerate(stored_scores):
        if policy is TiePolicy.FIRST_TO_REACH:
            rank = anchor.position + offset + 1
        elif offset == 0:
            better = anchor.ahead if policy is TiePolicy.COMPETITION else anchor.distinct_ahead
            rank = better + 1
        elif stored == stored_scores[offset - 1]:
            rank = ranks[-1]
        elif policy is TiePolicy.COMPETITION:
            # Every earlier entry has a smaller stored score, so all of them are strictly ahead.
            rank = anchor.position + offset + 1
        else:
            rank = ranks[-1] + 1
        ranks.append(rank)
    return ranks


def member_rank(anchor: Anchor, policy: TiePolicy) -> int:
    return slice_ranks([0], anchor, policy)[0]


def percentile(anchor: Anchor, member_count: int, policy: TiePolicy) -> float:
    """Share of members not ranked ahead, in percent; see `MemberRank`."""
    ahead = anchor.position if policy is TiePolicy.FIRST_TO_REACH else anchor.ahead
    return 100.0 * (member_count - ahead) / member_count


def order_key(encoded: str, stored: int) -> tuple[int, bytes]:
    """Sort key of the board's unique order, as Redis applies it: score, then member bytes."""
    return (stored, encoded.encode())
