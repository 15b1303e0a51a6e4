"""The wallet's Postgres reads against folds of the outbox rows, over random grants."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.store import PostgresGrantStore
from service.adapters.postgres.tables import grant_outbox
from service.adapters.postgres.wallet_repository import PostgresWallets
from service.app.grants.ports import GrantFilter
from service.domain import wallet
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import Grant, Reward, RewardKind
from tests.support.grants import queue_grants

pytestmark = pytest.mark.integration

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
USERS = ("ann", "bob", "cy")


def _random_grant(rng: random.Random, n: int) -> Grant:
    kind = rng.choice(list(RewardKind))
    held = kind in (RewardKind.COUPON, RewardKind.ITEM)
    days = rng.choice((0, 1, 7)) if held else 0
    # Few distinct instants, so that grants share an expiry and entries group.
    granted_at = AT + dt.timedelta(days=rng.randrange(4))
    reward = Reward(kind, rng.randint(1, 50), rng.choice(("a", "b")) if held else "", days)
    return Grant(
        f"rand:{n}", rng.choice(USERS), reward, f"reason {n}", "test", f"test:{n}", 1,
        reward.expires_at(granted_at),
    )  # fmt: skip


async def _scatter_statuses(engine: AsyncEngine, rng: random.Random, count: int) -> None:
    statuses = [rng.choice(list(GrantStatus)) for _ in range(count)]
    async with engine.begin() as conn:
        for n, status in enumerate(statuses):
            await conn.execute(
                sa.update(grant_outbox)
                .where(grant_outbox.c.idempotency_key == f"rand:{n}")
                .values(status=str(status))
            )


async def _rows(engine: AsyncEngine, user_id: str) -> list[OutboxGrant]:
    return await PostgresGrantStore(engine).list(GrantFilter(user_id=user_id), None, 10_000)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_balances_history_and_inventory_equal_folds_of_the_outbox(
    engine: AsyncEngine, seed: int
) -> None:
    rng = random.Random(seed)
    await queue_grants(engine, [_random_grant(rng, n) for n in range(300)])
    await _scatter_statuses(engine, rng, 300)
    wallets = PostgresWallets(engine)

    for user in USERS:
        rows = await _rows(engine, user)
        assert wallet.complete(await wallets.balances(user)) == wallet.balances(rows)
        for kind in (None, *RewardKind):
            history = await wallets.history(user, kind, None, 10_000)
            assert history == [r for r in rows if kind is None or r.grant.reward.kind is kind]
        for now in (None, AT + dt.timedelta(days=3)):
            expected = wallet.inventory(rows, now or AT, include_expired=now is None)
            paged: list[wallet.InventoryEntry] = []
            before: int | None = None
            while page := await wallets.inventory(user, now, before, 3):
                paged.extend(page)
                before = page[-1].first_id
            assert paged == expected
