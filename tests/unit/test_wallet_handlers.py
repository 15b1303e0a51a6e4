"""Wallet handlers over an in-memory wallet: validation, points always shown, paging."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app.paging import PageTokens
from service.app.wallet import handlers as wallet
from service.domain import wallet as folds
from service.domain.errors import InvalidArgument
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import Grant, Reward, RewardKind
from tests.support.clock import MovableClock

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
TOKENS = PageTokens(b"k" * 32)


class MemoryWallets:
    """Implements the Wallets port with the domain's folds over grants held in a list."""

    def __init__(self, grants: list[OutboxGrant]) -> None:
        self.grants = grants

    def _of(self, user_id: str) -> list[OutboxGrant]:
        return [g for g in self.grants if g.grant.user_id == user_id]

    async def balances(self, user_id: str) -> list[folds.Balance]:
        return [b for b in folds.balances(self._of(user_id)) if b.grant_count]

    async def history(
        self, user_id: str, kind: RewardKind | None, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        found = [
            g for g in self._of(user_id)
            if (kind is None or g.grant.reward.kind is kind)
            and (before_id is None or g.id < before_id)
        ]  # fmt: skip
        return sorted(found, key=lambda g: g.id, reverse=True)[:limit]

    async def inventory(
        self, user_id: str, unexpired_at: dt.datetime | None, before_id: int | None, limit: int
    ) -> list[folds.InventoryEntry]:
        entries = folds.inventory(
            self._of(user_id), unexpired_at or AT, include_expired=unexpired_at is None
        )
        return [e for e in entries if before_id is None or e.first_id < before_id][:limit]


def _coupon(n: int, days: int) -> OutboxGrant:
    reward = Reward(RewardKind.COUPON, 1, "c", days)
    grant = Grant(f"k{n}", "ann", reward, "r", "test", "t", 1, reward.expires_at(AT))
    return OutboxGrant(n, grant, GrantStatus.PENDING, 0, AT)


async def test_a_user_without_grants_has_zero_points_and_xp() -> None:
    found = await wallet.get_balance("ann", wallets=MemoryWallets([]))

    assert [(b.kind, b.granted) for b in found] == [(RewardKind.POINTS, 0), (RewardKind.XP, 0)]


async def test_history_pages_newest_first_and_tokens_keep_their_filters() -> None:
    wallets = MemoryWallets([_coupon(n, 0) for n in range(1, 6)])
    query = wallet.HistoryQuery("ann", page_size=2)

    ids: list[int] = []
    while True:
        page = await wallet.list_reward_history(query, wallets=wallets, tokens=TOKENS)
        ids.extend(m.id for m in page.movements)
        if not page.next_page_token:
            break
        token = page.next_page_token
        query = wallet.HistoryQuery("ann", page_size=2, page_token=token)

    assert ids == [5, 4, 3, 2, 1]
    with pytest.raises(InvalidArgument) as raised:
        await wallet.list_reward_history(
            wallet.HistoryQuery("ann", RewardKind.POINTS, page_token=token),
            wallets=wallets,
            tokens=TOKENS,
        )
    assert raised.value.field == "page_token"


async def test_inventory_leaves_out_what_expired_at_the_clock_unless_asked() -> None:
    wallets = MemoryWallets([_coupon(1, 1), _coupon(2, 0), _coupon(3, 5)])
    clock = MovableClock(AT + dt.timedelta(days=2))

    current = await wallet.list_inventory(
        wallet.InventoryQuery("ann"), wallets=wallets, tokens=TOKENS, clock=clock
    )
    everything = await wallet.list_inventory(
        wallet.InventoryQuery("ann", include_expired=True),
        wallets=wallets,
        tokens=TOKENS,
        clock=clock,
    )

    assert [e.first_id for e in current.entries] == [3, 2]
    assert [(e.first_id, e.expired(everything.as_of)) for e in everything.entries] == [
        (3, False), (2, False), (1, True),
    ]  # fmt: skip


@pytest.mark.parametrize("user_id", ["", " ann", "x" * 129])
async def test_a_bad_user_id_is_refused_before_any_read(user_id: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await wallet.get_balance(user_id, wallets=MemoryWallets([]))
    assert raised.value.field == "user_id"
