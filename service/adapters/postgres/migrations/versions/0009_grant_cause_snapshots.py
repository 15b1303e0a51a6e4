"""grant causes kept as they were decided: the check-in behind a check-in grant

A make-up renumbers the streak of the days after it, so reading a grant's check-in from
check_ins showed the streak as it is now. The check-in is now stored with the grant; grants
queued before this revision get the check-in as it stands when the revision runs (the best
record left of it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "grant_outbox",
        sa.Column("cause_check_in", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.execute(
        """
        update grant_outbox as g set cause_check_in = jsonb_build_object(
            'user_id', c.user_id, 'day', c.day, 'status', c.status, 'at', c.at,
            'timezone', c.timezone, 'cycle_day', c.cycle_day, 'streak', c.streak,
            'streak_started_on', c.streak_started_on, 'program_version', c.program_version
        )
        from check_ins as c
        where g.cause_kind in ('check_in', 'check_in_milestone') and c.user_id = g.user_id
          and g.cause_ref = 'check_in:' || g.user_id || ':' || c.day::text
        """
    )


def downgrade() -> None:
    op.drop_column("grant_outbox", "cause_check_in")
