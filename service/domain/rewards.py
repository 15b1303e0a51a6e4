"""Rewards as configured, and grants: rewards decided for one user with their cause."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from service.domain.errors import InvalidArgument
from service.domain.validation import check_id

MAX_REWARD_AMOUNT = 1_000_000_000


class RewardKind(enum.StrEnum):
    POINTS = "points"
    COUPON = "coupon"
    ITEM = "item"
    XP = "xp"


@dataclass(frozen=True, slots=True)
class Reward:
    kind: RewardKind
    amount: int
    item_code: str = ""

    def validate(self, field: str) -> None:
        """Raise InvalidArgument naming `field` when the reward is malformed."""
        if not 0 < self.amount <= MAX_REWARD_AMOUNT:
            raise InvalidArgument(f"{field}.amount", f"must be between 1 and {MAX_REWARD_AMOUNT}")
        if self.kind in (RewardKind.COUPON, RewardKind.ITEM):
            check_id(f"{field}.item_code", self.item_code)
        elif self.item_code:
            raise InvalidArgument(f"{field}.item_code", f"must be empty for {self.kind} rewards")


@dataclass(frozen=True, slots=True)
class Grant:
    """A reward for one user, delivered to the loyalty system exactly once in effect."""

    idempotency_key: str
    user_id: str
    reward: Reward
    reason: str
    cause_kind: str
    cause_ref: str
    definition_version: int
