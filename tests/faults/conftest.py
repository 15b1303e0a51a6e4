"""The fault suite's own Postgres, Redis and `engagement serve`, and its summary table."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from service.adapters.postgres import migrate
from tests.faults.report import CaseRow, table
from tests.faults.service_process import ServiceProcess, service_environment
from tests.faults.stores import PostgresProcess, RedisProcess

_ROWS: dict[str, CaseRow] = {}


def outage_seconds(variable: str, default: float) -> float:
    """An outage's length from the environment (FAULTS_*_DOWN_SECONDS), for quick runs."""
    value = float(os.environ.get(variable, default))
    if not 0 < value <= 600:
        raise ValueError(f"{variable}: must be between 0 and 600 seconds")
    return value


def _asyncpg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def fault_dir() -> Iterator[Path]:
    """Where the suite's servers keep their data and logs: outside pytest's own temporary
    directories, which a concurrent pytest run may clean up (a Postgres whose data directory
    disappears shuts itself down)."""
    path = Path(tempfile.mkdtemp(prefix="engagement-faults-"))
    yield path
    if any(row.result != "pass" for row in _ROWS.values()):
        print(f"\nthe service logs stay in {path} for the cases that failed")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_postgres(fault_dir: Path) -> Iterator[PostgresProcess]:
    server = PostgresProcess(fault_dir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def fault_redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def fault_database_url(
    fault_postgres: PostgresProcess, fault_redis: RedisProcess
) -> AsyncIterator[str]:
    """A new migrated database on the suite's Postgres, and an empty Redis, for one case."""
    fault_redis.flush()
    name = f"faults_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(_asyncpg(fault_postgres.url), poolclass=NullPool,
                                isolation_level="AUTOCOMMIT")  # fmt: skip
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'create database "{name}"'))
    url = fault_postgres.url.replace("/postgres?", f"/{name}?", 1)
    engine = create_async_engine(_asyncpg(url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield url
    # A case that failed half-way may have left a store down.
    if not fault_postgres.running:
        fault_postgres.start()
    if not fault_redis.running:
        fault_redis.start()
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'drop database "{name}" with (force)'))
    await admin.dispose()


@pytest.fixture
async def fault_engine(fault_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the case's database that holds no connection across an outage."""
    engine = create_async_engine(_asyncpg(fault_database_url), poolclass=NullPool)
    yield engine
    await engine.dispose()


StartService = Callable[..., Awaitable[ServiceProcess]]


@pytest.fixture
async def start_service(
    fault_database_url: str, fault_redis: RedisProcess, fault_dir: Path
) -> AsyncIterator[StartService]:
    """Starts `engagement serve` on the case's stores; every one is stopped afterwards."""
    started: list[ServiceProcess] = []

    async def start(**variables: str) -> ServiceProcess:
        env = service_environment(fault_database_url, fault_redis.url, **variables)
        log = (
            fault_dir
            / f"serve-{fault_database_url.split('?', maxsplit=1)[0][-10:]}-{len(started)}.log"
        )
        process = ServiceProcess(env, log)
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        await process.stop()


@pytest.fixture
def case(request: pytest.FixtureRequest) -> Callable[[str], CaseRow]:
    """Names the case and returns its row of the summary table."""

    def named(name: str) -> CaseRow:
        row = _ROWS[request.node.nodeid] = CaseRow(name)
        return row

    return named


def report(row: CaseRow) -> None:
    """Print the case's figures as soon as they are known."""
    print(row.line())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    outcome = yield
    row = _ROWS.get(item.nodeid)
    if row is not None and outcome.when == "call":
        row.result = "pass" if outcome.passed else "FAIL"
    elif row is not None and outcome.failed:
        row.result = "FAIL"
    return outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ROWS:
        return
    terminalreporter.section("fault injection")
    rows = list(_ROWS.values())
    for line in table(rows):
        terminalreporter.write_line(line)
    for row in rows:
        if row.notes:
            terminalreporter.write_line(f"{row.case}: {row.notes}")
