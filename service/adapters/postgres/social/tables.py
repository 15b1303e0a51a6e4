"""Tables of the social features: duel types, duels with their two sides, task assists."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from service.adapters.postgres.tables import NOW, metadata

duel_types = sa.Table(
    "duel_types",
    metadata,
    sa.Column("type_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

# A duel names no user itself: its sides do, so that erasing a user deletes only rows of
# theirs. `terms` is the duel type as it was at creation.
duels = sa.Table(
    "duels",
    metadata,
    sa.Column("duel_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("type_id", sa.String(64), nullable=False),
    sa.Column("terms", JSONB, nullable=False),
    sa.Column("event_types", ARRAY(sa.String(64)), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ends_at", sa.DateTime(timezone=True)),
    # "challenger", "opponent", or "" (a draw, or not settled).
    sa.Column("winner_side", sa.String(16), nullable=False, server_default=""),
    sa.Column("settled_at", sa.DateTime(timezone=True)),
    sa.Index("ix_duels_state_respond_by", "state", "respond_by"),
    sa.Index("ix_duels_state_ends_at", "state", "ends_at"),
)

duel_sides = sa.Table(
    "duel_sides",
    metadata,
    sa.Column(
        "duel_id",
        sa.BigInteger,
        sa.ForeignKey("duels.duel_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("side", sa.String(16), nullable=False),
    sa.Column("score", sa.BigInteger, nullable=False, server_default="0"),
    # The challenger's CreateDuel idempotency key; null on the opponent's side.
    sa.Column("request_key", sa.String(128)),
    sa.UniqueConstraint("user_id", "request_key", name="uq_duel_sides_request_key"),
    sa.Index("ix_duel_sides_user_id", "user_id", "duel_id"),
)

task_assists = sa.Table(
    "task_assists",
    metadata,
    sa.Column("assist_id", sa.BigInteger, sa.Identity(), primary_key=True),
    # The user whose task was helped, and the friend who helped.
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("helper_id", sa.String(128), nullable=False),
    sa.Column("task_id", sa.String(64), nullable=False),
    sa.Column("task_version", sa.BigInteger, nullable=False),
    sa.Column("window_id", sa.String(64), nullable=False),
    sa.Column("progress", sa.BigInteger, nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("assisted_at", sa.DateTime(timezone=True), nullable=False),
    # The task as the assist left it, answered again to a retry.
    sa.Column("progress_after", sa.BigInteger, nullable=False),
    sa.Column("target", sa.BigInteger, nullable=False),
    sa.Column("tiers_reached", sa.Integer, nullable=False),
    sa.UniqueConstraint("helper_id", "idempotency_key", name="uq_task_assists_helper_key"),
    sa.Index("ix_task_assists_user_id", "user_id", "task_id", "window_id"),
)
