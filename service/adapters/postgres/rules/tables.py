"""Rules engine tables: definitions, per-user progress, shared limits and received events."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from service.adapters.postgres.tables import NOW, metadata


def _updated_at() -> sa.Column[object]:
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW)


# Every version of every definition kind; the config document holds the definition's rules.
rule_definitions = sa.Table(
    "rule_definitions",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("definition_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

# One row per user the rules engine has seen; its lock serialises the user's events.
rule_profiles = sa.Table(
    "rule_profiles",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("segments", ARRAY(sa.Text), nullable=False),
    sa.Column("xp", sa.BigInteger, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    _updated_at(),
)

task_states = sa.Table(
    "task_states",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("window_id", sa.String(64), nullable=False),
    sa.Column("progress", sa.BigInteger, nullable=False),
    sa.Column("tiers_reached", sa.Integer, nullable=False),
    sa.Column("completions", sa.Integer, nullable=False),
    # The values a distinct measure counted so far in the current run (a JSON array).
    sa.Column("distinct_values", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _updated_at(),
)

task_completions = sa.Table(
    "task_completions",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("window_id", sa.String(64), primary_key=True),
    sa.Column("run", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tier", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("rewards", JSONB, nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event_key", sa.String(512), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    # A repeatable task piles up claimed runs; claims look only at the few waiting ones.
    sa.Index(
        "ix_task_completions_unclaimed",
        "user_id",
        "task_id",
        postgresql_where=sa.text("claimed_at IS NULL"),
    ),
)

badge_states = sa.Table(
    "badge_states",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("badge_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("progress", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.Integer, nullable=False),
    sa.Column("earned_at", sa.DateTime(timezone=True)),
    # The values a distinct measure counted so far in the current run (a JSON array).
    sa.Column("distinct_values", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _updated_at(),
    # Rarity counts holders per badge without reading the users still working on it.
    sa.Index("ix_badge_states_holders", "badge_id", postgresql_where=sa.text("tier > 0")),
)

rule_counters = sa.Table(
    "rule_counters",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("window_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
)

# How many users earned a limited badge's first tier; the row lock orders the race for it.
badge_supply = sa.Table(
    "badge_supply",
    metadata,
    sa.Column("badge_id", sa.String(64), primary_key=True),
    sa.Column("awarded", sa.BigInteger, nullable=False),
)

# What all users together received under a budget cap.
cap_budgets = sa.Table(
    "cap_budgets",
    metadata,
    sa.Column("cap_id", sa.String(64), primary_key=True),
    sa.Column("spent", sa.BigInteger, nullable=False),
)

# Every event received, applied or rejected, with its effects: the idempotency record.
rule_events = sa.Table(
    "rule_events",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("idempotency_key", sa.String(512), nullable=False, unique=True),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("attributes", JSONB, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # Rejected events wait here for a person to look at them.
    sa.Column("review", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("effects", JSONB, nullable=False),
    # Velocity caps count a user's recent events of one type.
    sa.Index("ix_rule_events_velocity", "user_id", "type", "received_at"),
    # Operators page through the events waiting for review, newest first, or one user's.
    sa.Index("ix_rule_events_review", "id", postgresql_where=sa.text("review")),
    sa.Index("ix_rule_events_review_user", "user_id", "id", postgresql_where=sa.text("review")),
    # Replay pages through applied events in its own order, one index range per page.
    sa.Index(
        "ix_rule_events_replay",
        "user_id",
        "occurred_at",
        "id",
        postgresql_where=sa.text("status = 'applied'"),
    ),
)
