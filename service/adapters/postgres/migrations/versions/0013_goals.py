"""team and community goals: definitions, totals, contributions, teams

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", _AT, nullable=False),
        sa.Column("ends_at", _AT, nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", _AT, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("goal_id", name=op.f("pk_goals")),
        sa.UniqueConstraint("seq", name=op.f("uq_goals_seq")),
    )
    op.create_index("ix_goals_team_id", "goals", ["team_id", "seq"])
    op.create_index("ix_goals_ends_at", "goals", ["ends_at"])
    op.create_table(
        "goal_totals",
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("contributors", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("goal_id", name=op.f("pk_goal_totals")),
    )
    op.create_table(
        "goal_contributions",
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("first_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("goal_id", "user_id", name=op.f("pk_goal_contributions")),
    )
    op.create_index("ix_goal_contributions_user_id", "goal_contributions", ["user_id"])
    op.create_table(
        "teams",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_teams")),
    )
    op.create_table(
        "team_members",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("joined_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint("team_id", "user_id", name="uq_team_members_team_id_user_id"),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])


def downgrade() -> None:
    for table in ("team_members", "teams", "goal_contributions", "goal_totals", "goals"):
        op.drop_table(table)
