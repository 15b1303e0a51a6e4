"""A player's wallet: balances and inventory, as folds of the user's grants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import HELD_KINDS, RewardKind

# Statuses a user's grant can have; a cancelled grant no longer names its user (erasure).
COUNTED = (GrantStatus.DELIVERED, GrantStatus.PENDING, GrantStatus.DEAD)
# What a player holds: a dead grant never reached the loyalty system.
HELD = (GrantStatus.DELIVERED, GrantStatus.PENDING)
KIND_ORDER = (RewardKind.POINTS, RewardKind.XP, RewardKind.COUPON, RewardKind.ITEM)
# Listed even before their first grant: "how many points do I have?" deserves a 0.
ALWAYS_SHOWN = (RewardKind.POINTS, RewardKind.XP)


@dataclass(frozen=True, slots=True)
class Balance:
    """What the service granted a user of one kind and item code, by delivery state."""

    kind: RewardKind
    item_code: str = ""
    delivered: int = 0
    pending: int = 0
    dead: int = 0
    grant_count: int = 0
    last_granted_at: dt.datetime | None = None

    @property
    def granted(self) -> int:
        return self.delivered + self.pending + self.dead


@dataclass(frozen=True, slots=True)
class InventoryEntry:
    """Coupons or items of one code and expiry that a user holds or will hold."""

    kind: RewardKind
    item_code: str
    expires_at: dt.datetime | None
    quantity: int
    pending: int
    # The id of the entry's oldest grant: the entries' order, and their page key.
    first_id: int
    first_granted_at: dt.datetime
    last_granted_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _order(kind: RewardKind, item_code: str) -> tuple[int, str]:
    return KIND_ORDER.index(kind), item_code


def complete(found: Iterable[Balance]) -> list[Balance]:
    """`found` with zero points and XP added where missing, in the kinds' order."""
    by_key = {(b.kind, b.item_code): b for b in found}
    for kind in ALWAYS_SHOWN:
        by_key.setdefault((kind, ""), Balance(kind))
    return sorted(by_key.values(), key=lambda b: _order(b.kind, b.item_code))


def _later(a: dt.datetime | None, b: dt.datetime) -> dt.datetime:
    return b if a is None or b > a else a


def balances(grants: Iterable[OutboxGrant]) -> list[Balance]:
    """The user's balances folded from the user's grants (any order), completed."""
    totals: dict[tuple[RewardKind, str], Balance] = {}
    for item in grants:
        if item.status not in COUNTED:
            continue
        reward = item.grant.reward
        key = (reward.kind, reward.item_code)
        was = totals.get(key) or Balance(reward.kind, reward.item_code)
        field = str(item.status)  # the statuses counted name Balance's fields
        totals[key] = replace(
            was,
            **{field: getattr(was, field) + reward.amount},
            grant_count=was.grant_count + 1,
            last_granted_at=_later(was.last_granted_at, item.created_at),
        )
    return complete(totals.values())


def _held(was: InventoryEntry | None, item: OutboxGrant) -> InventoryEntry:
    """The entry `was` (None: a new one) with the held grant `item` added."""
    reward = item.grant.reward
    pending = reward.amount if item.status is GrantStatus.PENDING else 0
    if was is None:
        return InventoryEntry(
            kind=reward.kind,
            item_code=reward.item_code,
            expires_at=item.grant.expires_at,
            quantity=reward.amount,
            pending=pending,
            first_id=item.id,
            first_granted_at=item.created_at,
            last_granted_at=item.created_at,
        )
    return replace(
        was,
        quantity=was.quantity + reward.amount,
        pending=was.pending + pending,
        first_id=min(was.first_id, item.id),
        first_granted_at=min(was.first_granted_at, item.created_at),
        last_granted_at=max(was.last_granted_at, item.created_at),
    )


def inventory(
    grants: Iterable[OutboxGrant], now: dt.datetime, *, include_expired: bool
) -> list[InventoryEntry]:
    """Held coupons and items grouped by kind, code and expiry, newest first entry first."""
    entries: dict[tuple[RewardKind, str, dt.datetime | None], InventoryEntry] = {}
    for item in grants:
        reward, expires_at = item.grant.reward, item.grant.expires_at
        if reward.kind not in HELD_KINDS or item.status not in HELD:
            continue
        if not include_expired and expires_at is not None and expires_at <= now:
            continue
        key = (reward.kind, reward.item_code, expires_at)
        entries[key] = _held(entries.get(key), item)
    return sorted(entries.values(), key=lambda e: e.first_id, reverse=True)
