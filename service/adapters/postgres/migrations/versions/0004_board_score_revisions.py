"""board score revisions from one sequence; an index of board-period keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_period_keys",
        sa.Column("board_id", sa.String(length=64), nullable=False),
        sa.Column("period_id", sa.String(length=32), nullable=False),
        sa.Column("partition", sa.String(length=64), nullable=False),
        sa.Column("rookie", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id", "period_id", "partition", "rookie", name=op.f("pk_board_period_keys")
        ),
    )
    op.execute(
        "insert into board_period_keys (board_id, period_id, partition, rookie) "
        "select distinct board_id, period_id, partition, rookie from board_scores"
    )
    op.execute(sa.schema.CreateSequence(sa.Sequence("board_score_revisions")))
    # Existing revisions count per member from 1; the sequence starts above all of them.
    op.execute(
        "select setval('board_score_revisions', "
        "coalesce((select max(revision) from board_scores), 0) + 1, false)"
    )


def downgrade() -> None:
    op.execute(sa.schema.DropSequence(sa.Sequence("board_score_revisions")))
    op.drop_table("board_period_keys")
