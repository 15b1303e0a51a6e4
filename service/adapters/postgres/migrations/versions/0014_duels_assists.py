"""duels between players and friends' assists on tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "duel_types",
        sa.Column("type_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", _AT, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("type_id", name=op.f("pk_duel_types")),
    )
    op.create_table(
        "duels",
        sa.Column("duel_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("type_id", sa.String(length=64), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("respond_by", _AT, nullable=False),
        sa.Column("started_at", _AT, nullable=True),
        sa.Column("ends_at", _AT, nullable=True),
        sa.Column("winner_side", sa.String(length=16), server_default="", nullable=False),
        sa.Column("settled_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("duel_id", name=op.f("pk_duels")),
    )
    op.create_index("ix_duels_state_respond_by", "duels", ["state", "respond_by"])
    op.create_index("ix_duels_state_ends_at", "duels", ["state", "ends_at"])
    op.create_table(
        "duel_sides",
        sa.Column("duel_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("score", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("request_key", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["duel_id"],
            ["duels.duel_id"],
            name=op.f("fk_duel_sides_duel_id_duels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("duel_id", "user_id", name=op.f("pk_duel_sides")),
        sa.UniqueConstraint("user_id", "request_key", name="uq_duel_sides_request_key"),
    )
    op.create_index("ix_duel_sides_user_id", "duel_sides", ["user_id", "duel_id"])
    op.create_table(
        "task_assists",
        sa.Column("assist_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("helper_id", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("task_version", sa.BigInteger(), nullable=False),
        sa.Column("window_id", sa.String(length=64), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("assisted_at", _AT, nullable=False),
        sa.Column("progress_after", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("tiers_reached", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("assist_id", name=op.f("pk_task_assists")),
        sa.UniqueConstraint("helper_id", "idempotency_key", name="uq_task_assists_helper_key"),
    )
    op.create_index("ix_task_assists_user_id", "task_assists", ["user_id", "task_id", "window_id"])


def downgrade() -> None:
    op.drop_table("task_assists")
    op.drop_table("duel_sides")
    op.drop_table("duels")
    op.drop_table("duel_types")
