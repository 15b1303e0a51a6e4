"""rules engine: definitions, user progress, shared supply and budgets, received events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:36:09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "badge_states",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("badge_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "badge_id", name=op.f("pk_badge_states")),
    )
    op.create_index(
        "ix_badge_states_holders",
        "badge_states",
        ["badge_id"],
        unique=False,
        postgresql_where=sa.text("tier > 0"),
    )
    op.create_table(
        "badge_supply",
        sa.Column("badge_id", sa.String(length=64), nullable=False),
        sa.Column("awarded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("badge_id", name=op.f("pk_badge_supply")),
    )
    op.create_table(
        "cap_budgets",
        sa.Column("cap_id", sa.String(length=64), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("cap_id", name=op.f("pk_cap_budgets")),
    )
    op.create_table(
        "rule_counters",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_rule_counters")),
    )
    op.create_table(
        "rule_definitions",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("definition_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "kind", "definition_id", "version", name=op.f("pk_rule_definitions")
        ),
    )
    op.create_table(
        "rule_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("idempotency_key", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effects", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_rule_events_idempotency_key")),
    )
    op.create_index(
        "ix_rule_events_replay",
        "rule_events",
        ["user_id", "occurred_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'applied'"),
    )
    op.create_index(
        "ix_rule_events_velocity", "rule_events", ["user_id", "type", "received_at"], unique=False
    )
    op.create_index(
        "ix_rule_events_review",
        "rule_events",
        ["id"],
        unique=False,
        postgresql_where=sa.text("review"),
    )
    op.create_index(
        "ix_rule_events_review_user",
        "rule_events",
        ["user_id", "id"],
        unique=False,
        postgresql_where=sa.text("review"),
    )
    op.create_table(
        "rule_profiles",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("segments", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("xp", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rule_profiles")),
    )
    op.create_table(
        "task_completions",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("window_id", sa.String(length=64), nullable=False),
        sa.Column("run", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tier", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("rewards", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_key", sa.String(length=512), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "user_id", "task_id", "window_id", "run", "tier", name=op.f("pk_task_completions")
        ),
    )
    op.create_index(
        "ix_task_completions_unclaimed",
        "task_completions",
        ["user_id", "task_id"],
        unique=False,
        postgresql_where=sa.text("claimed_at IS NULL"),
    )
    op.create_table(
        "task_states",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("window_id", sa.String(length=64), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("tiers_reached", sa.Integer(), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "task_id", name=op.f("pk_task_states")),
    )


def downgrade() -> None:
    op.drop_table("task_states")
    op.drop_index(
        "ix_task_completions_unclaimed",
        table_name="task_completions",
        postgresql_where=sa.text("claimed_at IS NULL"),
    )
    op.drop_table("task_completions")
    op.drop_table("rule_profiles")
    op.drop_index("ix_rule_events_velocity", table_name="rule_events")
    op.drop_index(
        "ix_rule_events_review", table_name="rule_events", postgresql_where=sa.text("review")
    )
    op.drop_index(
        "ix_rule_events_review_user", table_name="rule_events", postgresql_where=sa.text("review")
    )
    op.drop_index(
        "ix_rule_events_replay",
        table_name="rule_events",
        postgresql_where=sa.text("status = 'applied'"),
    )
    op.drop_table("rule_events")
    op.drop_table("rule_definitions")
    op.drop_table("rule_counters")
    op.drop_table("cap_budgets")
    op.drop_table("badge_supply")
    op.drop_index(
        "ix_badge_states_holders", table_name="badge_states", postgresql_where=sa.text("tier > 0")
    )
    op.drop_table("badge_states")
