"""Players' wallets on Postgres: one user's grant outbox rows, summed or listed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.rows import COLUMNS, grant_from_row
from service.adapters.postgres.tables import grant_outbox
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import HELD_KINDS, RewardKind
from service.domain.wallet import COUNTED, HELD, Balance, InventoryEntry

_t = grant_outbox.c


def _total(*statuses: GrantStatus) -> sa.ColumnElement[Any]:
    amount = sa.func.sum(_t.amount).filter(_t.status.in_([str(s) for s in statuses]))
    # sum(bigint) is numeric: back to bigint, which the proto's int64 holds.
    return sa.cast(sa.func.coalesce(amount, 0), sa.BigInteger)


# Every read selects by user_id first: ix_grant_outbox_user_id (user_id, id) serves all three.
_BALANCES = (
    sa.select(
        _t.kind,
        _t.item_code,
        _total(GrantStatus.DELIVERED).label("delivered"),
        _total(GrantStatus.PENDING).label("pending"),
        _total(GrantStatus.DEAD).label("dead"),
        sa.func.count().label("grant_count"),
        sa.func.max(_t.created_at).label("last_granted_at"),
    )
    .where(_t.user_id == sa.bindparam("user_id"), _t.status.in_([str(s) for s in COUNTED]))
    .group_by(_t.kind, _t.item_code)
)
_first_id = sa.func.min(_t.id)
_INVENTORY = (
    sa.select(
        _t.kind,
        _t.item_code,
        _t.expires_at,
        _total(*HELD).label("quantity"),
        _total(GrantStatus.PENDING).label("pending"),
        _first_id.label("first_id"),
        sa.func.min(_t.created_at).label("first_granted_at"),
        sa.func.max(_t.created_at).label("last_granted_at"),
    )
    .where(
        _t.user_id == sa.bindparam("user_id"),
        _t.kind.in_([str(k) for k in HELD_KINDS]),
        _t.status.in_([str(s) for s in HELD]),
    )
    .group_by(_t.kind, _t.item_code, _t.expires_at)
    .order_by(_first_id.desc())
)


def _balance(r: Any) -> Balance:
    return Balance(
        kind=RewardKind(r["kind"]),
        item_code=r["item_code"],
        delivered=int(r["delivered"]),
        pending=int(r["pending"]),
        dead=int(r["dead"]),
        grant_count=int(r["grant_count"]),
        last_granted_at=r["last_granted_at"],
    )


def _entry(r: Any) -> InventoryEntry:
    return InventoryEntry(
        kind=RewardKind(r["kind"]),
        item_code=r["item_code"],
        expires_at=r["expires_at"],
        quantity=int(r["quantity"]),
        pending=int(r["pending"]),
        first_id=int(r["first_id"]),
        first_granted_at=r["first_granted_at"],
        last_granted_at=r["last_granted_at"],
    )


class PostgresWallets:
    """Implements the Wallets port; each call is one statement on a pooled connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def balances(self, user_id: str) -> list[Balance]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(_BALANCES, {"user_id": user_id})).mappings().all()
        return [_balance(r) for r in rows]

    async def history(
        self, user_id: str, kind: RewardKind | None, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        stmt = sa.select(*COLUMNS).where(_t.user_id == user_id)
        if kind is not None:
            stmt = stmt.where(_t.kind == str(kind))
        if before_id is not None:
            stmt = stmt.where(_t.id < before_id)
        stmt = stmt.order_by(_t.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [grant_from_row(row) for row in rows]

    async def inventory(
        self, user_id: str, unexpired_at: dt.datetime | None, before_id: int | None, limit: int
    ) -> list[InventoryEntry]:
        stmt = _INVENTORY.limit(limit)
        if unexpired_at is not None:
            stmt = stmt.where(sa.or_(_t.expires_at.is_(None), _t.expires_at > unexpired_at))
        if before_id is not None:
            stmt = stmt.having(_first_id < before_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt, {"user_id": user_id})).mappings().all()
        return [_entry(r) for r in rows]
