"""grant delivery: relay leases, retry backoff and admin indexes on the grant outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:52:39.596160
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
DEAD = sa.text("status = 'dead'")


def upgrade() -> None:
    # now() is stable, so Postgres stores the default once instead of rewriting the table;
    # rows queued before this revision become claimable at once.
    op.add_column(
        "grant_outbox",
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("grant_outbox", sa.Column("lease_owner", sa.String(length=128), nullable=True))
    op.create_index("ix_grant_outbox_created_at", "grant_outbox", ["created_at"])
    op.create_index("ix_grant_outbox_dead", "grant_outbox", ["id"], postgresql_where=DEAD)
    op.create_index(
        "ix_grant_outbox_pending_user", "grant_outbox", ["user_id", "id"], postgresql_where=PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_grant_outbox_pending_user", table_name="grant_outbox")
    op.drop_index("ix_grant_outbox_dead", table_name="grant_outbox")
    op.drop_index("ix_grant_outbox_created_at", table_name="grant_outbox")
    op.drop_column("grant_outbox", "lease_owner")
    op.drop_column("grant_outbox", "available_at")
