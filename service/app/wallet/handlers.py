"""Players' wallet handlers: balances, the ledger of grants, and the inventory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from service.app.paging import PageTokens, page_size
from service.app.ports import Clock
from service.app.wallet.ports import Wallets
from service.domain.grant_delivery import OutboxGrant
from service.domain.rewards import RewardKind
from service.domain.validation import check_id
from service.domain.wallet import Balance, InventoryEntry, complete

MAX_PAGE_SIZE = 500
DEFAULT_HISTORY_PAGE = 50
DEFAULT_INVENTORY_PAGE = 100


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    user_id: str
    kind: RewardKind | None = None
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class InventoryQuery:
    user_id: str
    include_expired: bool = False
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class HistoryPage:
    movements: tuple[OutboxGrant, ...]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class InventoryPage:
    entries: tuple[InventoryEntry, ...]
    next_page_token: str
    # The instant the page was read at: what is expired is expired then.
    as_of: dt.datetime


async def get_balance(user_id: str, *, wallets: Wallets) -> list[Balance]:
    """The user's totals per kind (and item code), points and XP always among them."""
    check_id("user_id", user_id)
    return complete(await wallets.balances(user_id))


async def list_reward_history(
    query: HistoryQuery, *, wallets: Wallets, tokens: PageTokens
) -> HistoryPage:
    """One page of the user's grants, newest first."""
    check_id("user_id", query.user_id)
    size = page_size(query.page_size, DEFAULT_HISTORY_PAGE, MAX_PAGE_SIZE)
    # A token names the list and filters it was issued for; another list refuses it.
    where = ("reward_history", query.user_id, query.kind)
    before_id = tokens.decode(query.page_token, where)
    found = await wallets.history(query.user_id, query.kind, before_id, size + 1)
    page = tuple(found[:size])
    token = tokens.encode(page[-1].id, where) if len(found) > size else ""
    return HistoryPage(page, token)


async def list_inventory(
    query: InventoryQuery, *, wallets: Wallets, tokens: PageTokens, clock: Clock
) -> InventoryPage:
    """One page of the user's coupons and items, the most recently first granted first."""
    check_id("user_id", query.user_id)
    size = page_size(query.page_size, DEFAULT_INVENTORY_PAGE, MAX_PAGE_SIZE)
    where = ("inventory", query.user_id, query.include_expired)
    before_id = tokens.decode(query.page_token, where)
    now = clock.now()
    unexpired_at = None if query.include_expired else now
    found = await wallets.inventory(query.user_id, unexpired_at, before_id, size + 1)
    page = tuple(found[:size])
    token = tokens.encode(page[-1].first_id, where) if len(found) > size else ""
    return InventoryPage(page, token, now)
