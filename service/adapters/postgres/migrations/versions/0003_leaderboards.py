"""leaderboards: definitions, score ledger, aggregates, standings, repairs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:53:49.559856
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_members",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.PrimaryKeyConstraint("board_id", "member_id", name=op.f("pk_board_members")),
    )
    op.create_table(
        "board_periods",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("rookie", sa.Boolean(), nullable=False),
        sa.Column(
            "finalized_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("board_version", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id", "partition", "period_id", "rookie", name=op.f("pk_board_periods")
        ),
    )
    op.create_table(
        "board_repairs",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("rookie", sa.Boolean(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "board_id",
            "partition",
            "period_id",
            "rookie",
            "member_id",
            name=op.f("pk_board_repairs"),
        ),
    )
    op.create_table(
        "board_scores",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("rookie", sa.Boolean(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("reached_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id",
            "partition",
            "period_id",
            "rookie",
            "member_id",
            name=op.f("pk_board_scores"),
        ),
    )
    op.create_table(
        "board_standings",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("rookie", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id",
            "partition",
            "period_id",
            "rookie",
            "position",
            name=op.f("pk_board_standings"),
        ),
    )
    op.create_table(
        "boards",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("board_id", "version", name=op.f("pk_boards")),
    )
    op.create_table(
        "score_ledger",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("board_version", sa.BigInteger(), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_ledger")),
        sa.UniqueConstraint("board_id", "idempotency_key", name="uq_score_ledger_idempotency"),
    )


def downgrade() -> None:
    op.drop_table("score_ledger")
    op.drop_table("boards")
    op.drop_table("board_standings")
    op.drop_table("board_scores")
    op.drop_table("board_repairs")
    op.drop_table("board_periods")
    op.drop_table("board_members")
