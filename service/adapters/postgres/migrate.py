"""Apply Alembic revisions and verify that a database is at the head revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
FIX_COMMAND = "engagement migrate"


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this code expects."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the head revision in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_config(sync), "head"))


async def revision(engine: AsyncEngine, message: str) -> None:
    """Autogenerate a new revision from the difference between tables.py and the database."""
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync: command.revision(_config(sync), message=message, autogenerate=True)
        )


async def ensure_at_head(engine: AsyncEngine) -> None:
    """Raise SchemaOutOfDate naming the fixing command unless the schema is current."""
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    head = head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this code needs {head}: "
            f"run `{FIX_COMMAND}` (or `make migrate`)"
        )
