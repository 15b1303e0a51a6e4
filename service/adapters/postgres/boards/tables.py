"""Leaderboard tables: definitions, the score ledger, aggregates, periods and standings."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from service.adapters.postgres.tables import NOW, metadata

boards = sa.Table(
    "boards",
    metadata,
    sa.Column("board_id", sa.String(64), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("config", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)


def _board_period_key() -> list[sa.Column[object]]:
    """The columns naming one board-period: definition, partition, period, main or rookie."""
    return [
        sa.Column("board_id", sa.String(64), primary_key=True),
        sa.Column("partition", sa.String(64), primary_key=True),
        sa.Column("period_id", sa.String(32), primary_key=True),
        sa.Column("rookie", sa.Boolean, primary_key=True),
    ]


# Every accepted submission, with the key that makes a retry a no-op.
score_ledger = sa.Table(
    "score_ledger",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("board_id", sa.String(64), nullable=False),
    sa.Column("board_version", sa.BigInteger, nullable=False),
    sa.Column("partition", sa.String(64), nullable=False),
    sa.Column("period_id", sa.String(32), nullable=False),
    sa.Column("member_id", sa.String(128), nullable=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.UniqueConstraint("board_id", "idempotency_key", name="uq_score_ledger_idempotency"),
)

# Orders every change of an aggregate, across deletes, for the revision-checked Redis copies.
board_score_revisions = sa.Sequence("board_score_revisions", metadata=metadata)

# The aggregate per member and board-period; Redis is a copy of these rows.
board_scores = sa.Table(
    "board_scores",
    metadata,
    *_board_period_key(),
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("score", sa.BigInteger, nullable=False),
    sa.Column("reached_at_ms", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

board_members = sa.Table(
    "board_members",
    metadata,
    sa.Column("board_id", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("display_name", sa.String(64)),
    sa.Column("avatar_url", sa.String(2048)),
)

# Every board-period key that ever held a score: what finalisation looks for, without scanning
# the scores themselves.
board_period_keys = sa.Table(
    "board_period_keys",
    metadata,
    sa.Column("board_id", sa.String(64), primary_key=True),
    sa.Column("period_id", sa.String(32), primary_key=True),
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("rookie", sa.Boolean, primary_key=True),
)

board_periods = sa.Table(
    "board_periods",
    metadata,
    *_board_period_key(),
    sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("board_version", sa.BigInteger, nullable=False),
    sa.Column("members", sa.BigInteger, nullable=False),
)

board_standings = sa.Table(
    "board_standings",
    metadata,
    *_board_period_key(),
    sa.Column("rank", sa.BigInteger, nullable=False),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("member_id", sa.String(128), nullable=False),
    sa.Column("score", sa.BigInteger, nullable=False),
)

# Board-periods whose Redis copy missed a write after commit; a repair pass reloads them.
board_repairs = sa.Table(
    "board_repairs",
    metadata,
    *_board_period_key(),
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

# Members kept off every board (ExcludeMember) until reinstated: their scores are refused.
board_exclusions = sa.Table(
    "board_exclusions",
    metadata,
    sa.Column("member_id", sa.String(128), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=False),
)
