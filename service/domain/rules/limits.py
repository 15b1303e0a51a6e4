"""Hard limits on what one event may weigh and one grant may pay, whatever the definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from service.domain.rewards import Reward, RewardKind
from service.domain.rules.checks import MAX_TARGET

# All boosts of one reward together multiply it by at most this (percent): as much as one
# boost may, so stacking never takes an amount further than a single boost could.
MAX_BOOST_PERCENT = 10_000
DEFAULT_MAX_EVENT_VALUE = 1_000_000_000
# The largest maximum an operator may configure for one grant: far enough below 2^63 that
# sums of grants (XP, cap counters, budgets) stay exact in a signed 64-bit column.
MAX_GRANT_CEILING = 1_000_000_000_000
DEFAULT_MAX_GRANTS: Mapping[RewardKind, int] = {
    RewardKind.POINTS: 1_000_000_000,
    RewardKind.XP: 1_000_000_000,
    RewardKind.COUPON: 1_000,
    RewardKind.ITEM: 1_000,
}
# What a signed 64-bit integer holds: reported totals (a dry run's cost) stop here.
MAX_INT64 = 2**63 - 1
# XP and progress saturate here: every target and threshold lies at or below it.
MAX_TOTAL = MAX_TARGET


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest event value the rules accept, and the largest grant of each kind."""

    max_event_value: int = DEFAULT_MAX_EVENT_VALUE
    max_grants: Mapping[RewardKind, int] = field(default_factory=lambda: dict(DEFAULT_MAX_GRANTS))

    @classmethod
    def of(cls, max_event_value: int, max_grants: Mapping[str, int]) -> Limits:
        """Limits from settings; a kind the mapping omits keeps its default."""
        grants = {**DEFAULT_MAX_GRANTS, **{RewardKind(k): v for k, v in max_grants.items()}}
        return cls(max_event_value, grants)

    def value_breach(self, value: int) -> str:
        """The rejection reason for an event whose value is out of bounds, else ""."""
        if abs(value) > self.max_event_value:
            return f"value: {value} is beyond the maximum event value of {self.max_event_value}"
        return ""

    def capped(self, reward: Reward) -> Reward:
        """The reward, its amount cut to the maximum grant of its kind."""
        ceiling = self.max_grants.get(reward.kind, MAX_GRANT_CEILING)
        return reward if reward.amount <= ceiling else replace(reward, amount=ceiling)


def saturated(total: int) -> int:
    """A running total (XP, progress) kept at or below MAX_TOTAL."""
    return min(total, MAX_TOTAL)
