"""check-ins, streaks and the grant outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-22 23:27:20.244355
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_in_programs",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_check_in_programs")),
    )
    op.create_table(
        "check_ins",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("cycle_day", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("streak_started_on", sa.Date(), nullable=False),
        sa.Column("program_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_check_ins")),
    )
    op.create_table(
        "grant_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("idempotency_key", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("item_code", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cause_kind", sa.String(length=32), nullable=False),
        sa.Column("cause_ref", sa.String(length=512), nullable=False),
        sa.Column("definition_version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_grant_outbox_idempotency_key")),
    )
    op.create_index(
        "ix_grant_outbox_pending",
        "grant_outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_grant_outbox_user_id", "grant_outbox", ["user_id", "id"], unique=False)
    op.create_table(
        "streaks",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("longest", sa.Integer(), nullable=False),
        sa.Column("freezes", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("streak_started_on", sa.Date(), nullable=True),
        sa.Column("cycle_day", sa.Integer(), nullable=False),
        sa.Column("milestone_reached", sa.Integer(), nullable=False),
        sa.Column("make_up_month", sa.String(length=7), nullable=False),
        sa.Column("make_ups_used", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_streaks")),
    )


def downgrade() -> None:
    op.drop_table("streaks")
    op.drop_index("ix_grant_outbox_user_id", table_name="grant_outbox")
    op.drop_index(
        "ix_grant_outbox_pending",
        table_name="grant_outbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("grant_outbox")
    op.drop_table("check_ins")
    op.drop_table("check_in_programs")
