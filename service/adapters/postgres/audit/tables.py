"""The audit log of admin changes, one row per change, written in the change's transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from service.adapters.postgres.tables import metadata

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    # From the service's clock, like every other instant the handlers decide on.
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    # The RPC as "Service/Method", e.g. "RulesAdminService/UpsertDefinition".
    sa.Column("rpc", sa.String(128), nullable=False),
    sa.Column("target_kind", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(512), nullable=False),
    sa.Column("version_before", sa.BigInteger),
    sa.Column("version_after", sa.BigInteger),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("details", JSONB, nullable=False),
    # Operators page newest first, over everything or one actor's or one target's entries.
    sa.Index("ix_audit_entries_actor", "actor", "id"),
    sa.Index("ix_audit_entries_target", "target_kind", "target_id", "id"),
    sa.Index("ix_audit_entries_at", "at"),
)
