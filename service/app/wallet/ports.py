"""The port of players' wallets: one user's grants read from the outbox, summed or listed."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from service.domain.grant_delivery import OutboxGrant
from service.domain.rewards import RewardKind
from service.domain.wallet import Balance, InventoryEntry


class Wallets(Protocol):
    """Reads of the grant outbox for one user; each call is one statement."""

    async def balances(self, user_id: str) -> list[Balance]:
        """The user's totals per kind and item code, for the kinds granted at least once."""
        ...

    async def history(
        self, user_id: str, kind: RewardKind | None, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        """The user's grants (of `kind`, when given) with id below `before_id`, newest first."""
        ...

    async def inventory(
        self, user_id: str, unexpired_at: dt.datetime | None, before_id: int | None, limit: int
    ) -> list[InventoryEntry]:
        """Held coupons and items grouped by kind, code and expiry, whose first grant's id is
        below `before_id`, newest first; with `unexpired_at`, only entries valid then."""
        ...
