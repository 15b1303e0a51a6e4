"""Alembic environment: runs revisions on the connection that `migrate.py` hands in."""

from alembic import context
from sqlalchemy.engine import Connection

from service.adapters.postgres.schema import metadata


def run_on(connection: Connection) -> None:
    """Run pending revisions inside the caller's transaction."""
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_on(context.config.attributes["connection"])
