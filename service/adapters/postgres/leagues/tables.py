"""League tables: definitions, members' tiers, cohorts, placements, ended seasons, results."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from service.adapters.postgres.tables import NOW, metadata

league_definitions = sa.Table(
    "league_definitions",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

# A member's tier: set when first placed, moved one step at each season's end.
league_members = sa.Table(
    "league_members",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("tier_id", sa.String(16), nullable=False),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
)

# Cohorts of a season, filled one at a time per tier: the newest one takes newcomers.
league_cohorts = sa.Table(
    "league_cohorts",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("period_id", sa.String(32), primary_key=True),
    sa.Column("tier_id", sa.String(16), primary_key=True),
    sa.Column("cohort_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("members", sa.Integer, nullable=False),
)

# Which cohort (a partition of the league's board) a member plays the season in.
league_placements = sa.Table(
    "league_placements",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("period_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("tier_id", sa.String(16), nullable=False),
    sa.Column("cohort", sa.String(64), nullable=False),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
)

# A season whose moves and rewards are applied: what makes ending it again a no-op.
league_seasons = sa.Table(
    "league_seasons",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("period_id", sa.String(32), primary_key=True),
    sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("members", sa.Integer, nullable=False),
    sa.Column("grants", sa.Integer, nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
)

league_results = sa.Table(
    "league_results",
    metadata,
    sa.Column("league_id", sa.String(64), primary_key=True),
    sa.Column("period_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tier_id", sa.String(16), nullable=False),
    sa.Column("cohort", sa.String(64), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("next_tier_id", sa.String(16), nullable=False),
    sa.Column("rewards", JSONB, nullable=False),
    sa.Index("ix_league_results_user_id", "user_id", "league_id", "period_start"),
)
