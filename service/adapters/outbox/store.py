"""The grant store for operators on Postgres: list, inspect, retry, reconcile, count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters.outbox.rows import COLUMNS, IN_FLIGHT, grant_from_row
from service.adapters.postgres import codec
from service.adapters.postgres.audit.repository import PostgresAudit
from service.adapters.postgres.tables import check_in_programs, grant_outbox
from service.app.audit import Actor, Change
from service.app.grants.ports import CheckInCause, DeadSelection, GrantDetail, GrantFilter
from service.domain.grant_delivery import (
    GrantStatus,
    OutboxGrant,
    OutboxStats,
    check_in_cause_day,
)

_t = grant_outbox.c
_PENDING = _t.status == str(GrantStatus.PENDING)
_STATS = sa.select(
    sa.func.count().filter(_PENDING).label("pending"),
    sa.func.count().filter(_PENDING & IN_FLIGHT).label("in_flight"),
    sa.func.count().filter(_t.status == str(GrantStatus.DELIVERED)).label("delivered"),
    sa.func.count().filter(_t.status == str(GrantStatus.DEAD)).label("dead"),
    sa.func.min(_t.created_at).filter(_PENDING).label("oldest_pending"),
    sa.func.now().label("now"),
)


# A revived grant becomes its user's oldest pending one; it waits until the user's grants in
# flight are settled or their lease ran out, so that in-flight grants stay a prefix of the
# user's pending ones (see queue.py).
_leased = grant_outbox.alias("leased")
_AFTER_USERS_LEASES = sa.func.greatest(
    sa.func.now(),
    sa.select(sa.func.max(_leased.c.available_at))
    .where(
        _leased.c.user_id == _t.user_id,
        _leased.c.status == str(GrantStatus.PENDING),
        _leased.c.lease_owner.is_not(None),
    )
    .scalar_subquery(),
)


def _filtered(stmt: sa.Select[Any], where: GrantFilter) -> sa.Select[Any]:
    conditions = [
        _t.user_id == where.user_id if where.user_id else None,
        _t.status == str(where.status) if where.status else None,
        _t.cause_ref == where.cause_ref if where.cause_ref else None,
        _t.created_at >= where.created_after if where.created_after else None,
        _t.created_at < where.created_before if where.created_before else None,
    ]
    return stmt.where(*(c for c in conditions if c is not None))


class PostgresGrantStore:
    """Implements the GrantStore port; each call is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list(
        self, where: GrantFilter, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        stmt = _filtered(sa.select(*COLUMNS), where).order_by(_t.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(_t.id < before_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [grant_from_row(row) for row in rows]

    async def get(self, grant_id: str) -> GrantDetail | None:
        stmt = sa.select(*COLUMNS, _t.cause_check_in).where(_t.idempotency_key == grant_id)
        async with self._engine.connect() as conn, conn.begin():
            row = (await conn.execute(stmt)).mappings().one_or_none()
            if row is None:
                return None
            grant = grant_from_row(row)
            day = check_in_cause_day(grant.grant)
            cause = await _check_in_cause(conn, grant, row["cause_check_in"]) if day else None
        return GrantDetail(grant, cause)

    async def retry_dead(
        self,
        selection: DeadSelection,
        at: dt.datetime,
        actor: Actor,
        change: Callable[[int], Change],
    ) -> int:
        stmt = (
            sa.update(grant_outbox)
            .where(_t.status == str(GrantStatus.DEAD))
            .values(
                status=str(GrantStatus.PENDING),
                attempts=0,
                available_at=_AFTER_USERS_LEASES,
                lease_owner=None,
            )
        )
        if selection.grant_ids:
            stmt = stmt.where(_t.idempotency_key.in_(selection.grant_ids))
        if selection.user_id:
            stmt = stmt.where(_t.user_id == selection.user_id)
        async with self._engine.begin() as conn:
            moved: int = (await conn.execute(stmt)).rowcount
            await PostgresAudit(conn).add(at, actor, change(moved))
        return moved

    async def audit(self, at: dt.datetime, actor: Actor, change: Change) -> None:
        async with self._engine.begin() as conn:
            await PostgresAudit(conn).add(at, actor, change)

    async def delivered_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        where = GrantFilter(status=GrantStatus.DELIVERED, created_after=start, created_before=end)
        stmt = _filtered(sa.select(_t.idempotency_key), where).limit(limit + 1)
        async with self._engine.connect() as conn:
            return set((await conn.execute(stmt)).scalars())

    async def stats(self) -> OutboxStats:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_STATS)).mappings().one()
        oldest = row["oldest_pending"]
        age = (row["now"] - oldest).total_seconds() if oldest else 0.0
        return OutboxStats(
            row["pending"], row["in_flight"], row["delivered"], row["dead"], max(0.0, age)
        )


async def _check_in_cause(
    conn: AsyncConnection, grant: OutboxGrant, record: Any | None
) -> CheckInCause:
    """The check-in as it stood when the grant was decided (stored with the grant), and the
    program version it followed (versions never change)."""
    version = grant.grant.definition_version
    program_stmt = sa.select(check_in_programs).where(check_in_programs.c.version == version)
    program = (await conn.execute(program_stmt)).mappings().one_or_none()
    return CheckInCause(
        codec.day_from_json(record) if record else None,
        codec.program_from_row(program) if program else None,
    )
