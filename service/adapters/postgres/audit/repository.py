"""Postgres implementation of the audit log port."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres.audit.tables import audit_entries
from service.app.audit import Actor, AuditEntry, AuditFilter, Change

_t = audit_entries.c


def _filtered(stmt: sa.Select[Any], where: AuditFilter) -> sa.Select[Any]:
    conditions = [
        _t.at >= where.after if where.after else None,
        _t.at < where.before if where.before else None,
        _t.actor == where.actor if where.actor else None,
        _t.target_kind == where.target_kind if where.target_kind else None,
        _t.target_id == where.target_id if where.target_id else None,
    ]
    return stmt.where(*(c for c in conditions if c is not None))


def entry_from_row(row: sa.RowMapping) -> AuditEntry:
    change = Change(
        row["rpc"], row["target_kind"], row["target_id"], row["version_before"],
        row["version_after"], dict(row["details"]),
    )  # fmt: skip
    return AuditEntry(row["id"], row["at"], row["actor"], row["request_id"], change)


class PostgresAudit:
    """Audit entries on the unit of work's connection, so they commit with the change."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, at: dt.datetime, actor: Actor, change: Change) -> None:
        await self._conn.execute(
            sa.insert(audit_entries).values(
                at=at,
                actor=actor.subject,
                rpc=change.rpc,
                target_kind=change.target_kind,
                target_id=change.target_id,
                version_before=change.version_before,
                version_after=change.version_after,
                request_id=actor.request_id,
                details=dict(change.details),
            )
        )

    async def list(self, where: AuditFilter, before_id: int | None, limit: int) -> list[AuditEntry]:
        stmt = _filtered(sa.select(audit_entries), where).order_by(_t.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(_t.id < before_id)
        rows = (await self._conn.execute(stmt)).mappings().all()
        return [entry_from_row(row) for row in rows]
