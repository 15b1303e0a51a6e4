"""leagues: definitions, members' tiers, cohorts, placements, ended seasons and results

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "league_definitions",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", _TZ, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("league_id", "version", name=op.f("pk_league_definitions")),
    )
    op.create_table(
        "league_members",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("tier_id", sa.String(length=16), nullable=False),
        sa.Column("joined_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("league_id", "user_id", name=op.f("pk_league_members")),
    )
    op.create_table(
        "league_cohorts",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("tier_id", sa.String(length=16), nullable=False),
        sa.Column("cohort_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "league_id", "period_id", "tier_id", "cohort_no", name=op.f("pk_league_cohorts")
        ),
    )
    op.create_table(
        "league_placements",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("tier_id", sa.String(length=16), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=False),
        sa.Column("placed_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint(
            "league_id", "period_id", "user_id", name=op.f("pk_league_placements")
        ),
    )
    op.create_table(
        "league_seasons",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("period_start", _TZ, nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("grants", sa.Integer(), nullable=False),
        sa.Column("ended_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("league_id", "period_id", name=op.f("pk_league_seasons")),
    )
    op.create_table(
        "league_results",
        sa.Column("league_id", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("period_start", _TZ, nullable=False),
        sa.Column("tier_id", sa.String(length=16), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("next_tier_id", sa.String(length=16), nullable=False),
        sa.Column("rewards", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint(
            "league_id", "period_id", "user_id", name=op.f("pk_league_results")
        ),
    )
    op.create_index(
        "ix_league_results_user_id",
        "league_results",
        ["user_id", "league_id", "period_start"],
    )


def downgrade() -> None:
    op.drop_index("ix_league_results_user_id", table_name="league_results")
    for table in (
        "league_results", "league_seasons", "league_placements", "league_cohorts",
        "league_members", "league_definitions",
    ):  # fmt: skip
        op.drop_table(table)
