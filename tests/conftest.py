"""Shared fixtures: real Postgres and Redis (configured or embedded), a movable clock, the app."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.adapters.postgres import migrate
from service.adapters.postgres.schema import metadata
from service.bootstrap import App, build_app
from service.settings import Settings
from tests.support.auth import TEST_SECRET
from tests.support.clock import MovableClock

DATABASE_URL_VAR = "ENGAGEMENT_TEST_DATABASE_URL"
REDIS_URL_VAR = "ENGAGEMENT_TEST_REDIS_URL"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))


def _server_directory(kind: str) -> tempfile.TemporaryDirectory[str]:
    # Not under pytest's tmp_path_factory: pytest keeps only its last three base directories,
    # so a second test run on the machine would delete a running server's data.
    return tempfile.TemporaryDirectory(
        prefix=f"engagement-test-{kind}-", ignore_cleanup_errors=True
    )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A Postgres server: the configured one, else an embedded one for this test run."""
    configured = os.environ.get(DATABASE_URL_VAR)
    if configured:
        yield configured
        return
    from service.embedded import start_postgres  # noqa: PLC0415 - only without a server

    with _server_directory("postgres") as directory:
        server = start_postgres(Path(directory), ephemeral=True)
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A Redis server: the configured one, else an embedded one for this test run."""
    configured = os.environ.get(REDIS_URL_VAR)
    if configured:
        yield configured
        return
    from service.embedded import start_redis  # noqa: PLC0415 - only without a server

    with _server_directory("redis") as directory:
        server = start_redis(Path(directory))
        try:
            yield server.url
        finally:
            server.stop()


def _asyncpg(url: str) -> str:
    return Settings.model_validate(
        {"database_url": url, "redis_url": "redis://unused"}
    ).database_url


@asynccontextmanager
async def _scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new empty database on the server, dropped when the block ends."""
    server = make_url(_asyncpg(server_url))
    name = f"engagement_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'drop database "{name}" with (force)'))
        await admin.dispose()


@pytest.fixture(scope="session")
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A migrated database of its own for this test session."""
    async with _scratch_database(postgres_server_url) as url:
        engine = create_async_engine(url)
        await migrate.upgrade(engine)
        await engine.dispose()
        yield url


@pytest.fixture
async def empty_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database without any schema, for tests of what happens before migrating."""
    async with _scratch_database(postgres_server_url) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database emptied for this test."""
    engine = create_async_engine(database_url)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"truncate {tables} restart identity"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def redis_prefix(redis_client: redis.Redis) -> AsyncIterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"*{prefix}*", count=1000)]
    if keys:
        await redis_client.unlink(*keys)


@pytest.fixture
def settings(database_url: str, redis_server_url: str, redis_prefix: str) -> Settings:
    """Settings for one test, with a Redis key prefix of its own, on a plaintext port."""
    return Settings(
        database_url=database_url,
        redis_url=redis_server_url,
        grpc_address="127.0.0.1:0",
        grpc_plaintext=True,
        jwt_hs256_secrets=(TEST_SECRET,),
        redis_key_prefix=redis_prefix,
        health_interval_seconds=0.2,
        shutdown_grace_seconds=2,
    )


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine, clock: MovableClock) -> AsyncIterator[App]:
    """The composition root on the real servers, with the test's clock."""
    app = build_app(settings, clock=clock)
    yield app
    await app.close()


@pytest.fixture
async def redis_client(redis_server_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server_url)
    yield client
    await client.aclose()
