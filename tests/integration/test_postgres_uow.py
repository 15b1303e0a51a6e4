"""The Postgres unit of work after Postgres dropped the pooled connections (a restart)."""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.ports import UnitOfWork
from service.bootstrap import App, build_app
from service.settings import Settings
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

POOL_SIZE = 2


async def _pid(uow: UnitOfWork) -> int:
    """The server process behind the connection of `uow`, which is open."""
    driver = uow.check_ins._driver  # type: ignore[attr-defined]
    return int((await driver.fetchrow("select pg_backend_pid() as pid"))["pid"])


async def _read(uow: UnitOfWork) -> int:
    async with uow:
        return await _pid(uow)


async def _drop_pool(engine: AsyncEngine, app: App) -> None:
    """End the server processes behind every pooled connection of `app`."""
    drivers: list[Any] = []
    pids: list[int] = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(POOL_SIZE):  # all at once, so that each is a connection of its own
            uow = await stack.enter_async_context(app.reader())
            drivers.append(uow.check_ins._driver)  # type: ignore[attr-defined]
            pids.append(await _pid(uow))
    async with engine.connect() as conn:
        for pid in pids:
            await conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})

    async def closed() -> bool:
        return all(driver.is_closed() for driver in drivers)

    await wait_until(closed, within=5, what="the client to see its connections closed")


@pytest.fixture
def app(settings: Settings, clock: MovableClock) -> App:
    return build_app(settings.model_copy(update={"db_pool_size": POOL_SIZE}), clock=clock)


async def test_a_transaction_on_a_dropped_pool_retries_on_a_fresh_one(
    app: App, engine: AsyncEngine
) -> None:
    try:
        await _drop_pool(engine, app)

        assert await _read(app.uow()) > 0  # BEGIN found the connection dead and retried
    finally:
        await app.close()


async def test_a_read_on_a_dropped_pool_fails_once_then_reads_on_fresh_connections(
    app: App, engine: AsyncEngine
) -> None:
    try:
        await _drop_pool(engine, app)

        with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)):
            await _read(app.reader())
        assert await _read(app.reader()) > 0  # not the other dead connection
    finally:
        await app.close()
