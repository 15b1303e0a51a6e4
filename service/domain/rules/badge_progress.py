"""How a badge's measure moves, and which tiers that earns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from service.domain.rules.definitions import BadgeDefinition
from service.domain.rules.state import BadgeState


@dataclass(frozen=True, slots=True)
class BadgeAdvance:
    state: BadgeState
    # Tier numbers (1-based) earned by this step.
    earned: tuple[int, ...]


def tiers_for(badge: BadgeDefinition, measure: int) -> int:
    """How many tiers `measure` earns; for a board-rank badge the measure is a rank."""
    if badge.by_rank:
        return sum(1 for tier in badge.tiers if 0 < measure <= tier.threshold)
    return sum(1 for tier in badge.tiers if measure >= tier.threshold)


def next_threshold(badge: BadgeDefinition, state: BadgeState) -> int:
    return badge.tiers[state.tier].threshold if state.tier < len(badge.tiers) else 0


def advance_badge(
    badge: BadgeDefinition,
    state: BadgeState,
    measure: int,
    at: dt.datetime,
    *,
    supply_left: int | None,
) -> BadgeAdvance:
    """Record the badge's new measure (a count, sum, streak, level or rank) at `at`.

    Nothing moves outside the badge's availability window. The first tier needs supply
    when the badge is limited: `supply_left` None means the caller has not locked the
    supply yet and the tier is assumed available.
    """
    settled = measure == state.progress and state.version == badge.version and not badge.supply
    if settled or not badge.available(at):
        return BadgeAdvance(state, ())  # nothing can move
    best = tiers_for(badge, measure)
    if state.tier == 0 and badge.supply and supply_left == 0:
        best = 0
    tier = max(state.tier, best)
    progress = measure if not badge.by_rank else min(measure, state.progress or measure)
    new = replace(
        state,
        version=badge.version,
        progress=progress,
        tier=tier,
        earned_at=state.earned_at or (at if tier else None),
    )
    return BadgeAdvance(new, tuple(range(state.tier + 1, tier + 1)))


def blank(badge: BadgeDefinition, user_id: str) -> BadgeState:
    return BadgeState(user_id, badge.badge_id, badge.version)
