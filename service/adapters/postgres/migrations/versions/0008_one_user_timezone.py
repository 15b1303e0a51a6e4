"""one timezone per user: the profile's, set by check-ins and events alike

Until now a check-in's timezone lived only on the streak and an event's only on the rules
profile, and a profile that never got one held 'UTC'. From here the profile's timezone is
the user's one timezone, and an empty one means no call ever set it (windows use UTC, and a
check-in must pass a timezone). A profile's 'UTC' becomes empty, since it cannot be told
apart from the default; then each user's check-in timezone is copied over where the profile
has none, or where the streak changed after the profile did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("update rule_profiles set timezone = '' where timezone = 'UTC'")
    op.execute(
        """
        insert into rule_profiles as p (user_id, timezone, segments, xp, level, updated_at)
        select user_id, timezone, '{}', 0, 1, updated_at from streaks where timezone <> ''
        on conflict (user_id) do update set timezone = excluded.timezone
        where p.timezone = '' or p.updated_at < excluded.updated_at
        """
    )


def downgrade() -> None:
    op.execute("update rule_profiles set timezone = 'UTC' where timezone = ''")
