"""grant validity: the reward's valid days and the grant's expiry, for players' inventories

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both are cheap on a large outbox: a constant default and a null add no table rewrite.
    # Balances, history and inventory read one user's rows through ix_grant_outbox_user_id.
    op.add_column(
        "grant_outbox",
        sa.Column("valid_days", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("grant_outbox", sa.Column("expires_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("grant_outbox", "expires_at")
    op.drop_column("grant_outbox", "valid_days")
