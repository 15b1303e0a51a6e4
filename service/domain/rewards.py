"""Rewards as configured, and grants: rewards decided for one user with their cause."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from service.domain.errors import InvalidArgument
from service.domain.validation import check_id

MAX_REWARD_AMOUNT = 1_000_000_000
# Ten years: long enough for any promotion, short enough to stay a sane instant.
MAX_VALID_DAYS = 3650


class RewardKind(enum.StrEnum):
    POINTS = "points"
    COUPON = "coupon"
    ITEM = "item"
    XP = "xp"


# Kinds a player holds as entries of an inventory, which can expire.
HELD_KINDS = frozenset({RewardKind.COUPON, RewardKind.ITEM})


@dataclass(frozen=True, slots=True)
class Reward:
    kind: RewardKind
    amount: int
    item_code: str = ""
    # Coupons and items only: a grant of the reward expires this many days after it was
    # decided; 0 means it never does.
    valid_days: int = 0

    def validate(self, field: str) -> None:
        """Raise InvalidArgument naming `field` when the reward is malformed."""
        if not 0 < self.amount <= MAX_REWARD_AMOUNT:
            raise InvalidArgument(f"{field}.amount", f"must be between 1 and {MAX_REWARD_AMOUNT}")
        if self.kind in HELD_KINDS:
            check_id(f"{field}.item_code", self.item_code)
        elif self.item_code:
            raise InvalidArgument(f"{field}.item_code", f"must be empty for {self.kind} rewards")
        if not 0 <= self.valid_days <= MAX_VALID_DAYS:
            raise InvalidArgument(f"{field}.valid_days", f"must be between 0 and {MAX_VALID_DAYS}")
        if self.valid_days and self.kind not in HELD_KINDS:
            raise InvalidArgument(f"{field}.valid_days", "applies to coupons and items only")

    def expires_at(self, granted_at: dt.datetime) -> dt.datetime | None:
        """When a grant of this reward decided at `granted_at` expires; None for never."""
        return granted_at + dt.timedelta(days=self.valid_days) if self.valid_days else None


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
    # From the reward's valid_days at the instant the grant was decided; None: never.
    expires_at: dt.datetime | None = None
