"""The Alembic revisions build exactly the schema the table modules describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from service.adapters.postgres import migrate
from service.adapters.postgres.schema import metadata

pytestmark = pytest.mark.integration


async def test_the_migrated_schema_matches_the_tables(empty_database_url: str) -> None:
    engine = create_async_engine(empty_database_url)
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )
    await engine.dispose()

    assert differences == []
