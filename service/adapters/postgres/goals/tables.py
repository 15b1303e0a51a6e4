"""Goal tables: definitions, running totals, contributions, teams and their members."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from service.adapters.postgres.tables import NOW, metadata

# The current definition of every goal; `seq` orders lists (newest first) and pages them.
goals = sa.Table(
    "goals",
    metadata,
    sa.Column("goal_id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("team_id", sa.String(64), nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Index("ix_goals_team_id", "team_id", "seq"),
    sa.Index("ix_goals_ends_at", "ends_at"),
)

# A narrow row per goal, apart from the definition, so that its many increments stay small
# (heap-only) updates; its lock serialises the goal's milestones.
goal_totals = sa.Table(
    "goal_totals",
    metadata,
    sa.Column("goal_id", sa.String(64), primary_key=True),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("contributors", sa.BigInteger, nullable=False),
)

goal_contributions = sa.Table(
    "goal_contributions",
    metadata,
    sa.Column("goal_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_goal_contributions_user_id", "user_id"),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("team_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("team_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("team_id", "user_id", name="uq_team_members_team_id_user_id"),
    sa.Index("ix_team_members_user_id", "user_id"),
)
