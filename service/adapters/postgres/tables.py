"""The Postgres schema as SQLAlchemy Core tables; Alembic revisions create it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

NOW = sa.text("now()")

check_in_programs = sa.Table(
    "check_in_programs",
    metadata,
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

streaks = sa.Table(
    "streaks",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("current", sa.Integer, nullable=False),
    sa.Column("longest", sa.Integer, nullable=False),
    sa.Column("freezes", sa.Integer, nullable=False),
    sa.Column("first_day", sa.Date),
    sa.Column("last_day", sa.Date),
    sa.Column("streak_started_on", sa.Date),
    sa.Column("cycle_day", sa.Integer, nullable=False),
    sa.Column("milestone_reached", sa.Integer, nullable=False),
    sa.Column("make_up_month", sa.String(7), nullable=False),
    sa.Column("make_ups_used", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

check_ins = sa.Table(
    "check_ins",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("cycle_day", sa.Integer, nullable=False),
    sa.Column("streak", sa.Integer, nullable=False),
    sa.Column("streak_started_on", sa.Date, nullable=False),
    sa.Column("program_version", sa.BigInteger, nullable=False),
)

grant_outbox = sa.Table(
    "grant_outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("item_code", sa.String(128), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("cause_kind", sa.String(32), nullable=False),
    sa.Column("cause_ref", sa.String(512), nullable=False),
    sa.Column("definition_version", sa.BigInteger, nullable=False),
    # For check-in causes: the check-in as it stood when the grant was decided (a make-up
    # renumbers the streak of later days; a grant's cause never changes).
    sa.Column("cause_check_in", JSONB),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    # A pending grant is claimable from this instant: after its retry backoff, or once the
    # lease of the relay delivering it (lease_owner) has run out.
    sa.Column("available_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("lease_owner", sa.String(128)),
    # Coupons and items with a validity: the reward's days, and when the grant expires.
    sa.Column("valid_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Index("ix_grant_outbox_pending", "id", postgresql_where=sa.text("status = 'pending'")),
    sa.Index("ix_grant_outbox_user_id", "user_id", "id"),
    sa.Index(
        "ix_grant_outbox_pending_user",
        "user_id",
        "id",
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_grant_outbox_dead", "id", postgresql_where=sa.text("status = 'dead'")),
    sa.Index("ix_grant_outbox_created_at", "created_at"),
)
