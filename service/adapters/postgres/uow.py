"""The Postgres unit of work: one connection, one transaction, explicit commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters.postgres.audit.repository import PostgresAudit
from service.adapters.postgres.boards.definition_repository import PostgresBoards
from service.adapters.postgres.boards.exclusion_repository import PostgresExclusions
from service.adapters.postgres.boards.repositories import PostgresScores
from service.adapters.postgres.driver import Driver
from service.adapters.postgres.goals.repository import PostgresGoals
from service.adapters.postgres.leagues.repository import PostgresLeagues
from service.adapters.postgres.privacy_repository import PostgresPrivacy
from service.adapters.postgres.repositories import (
    PostgresCheckIns,
    PostgresOutbox,
    PostgresPrograms,
)
from service.adapters.postgres.rules.definition_repository import PostgresDefinitions
from service.adapters.postgres.rules.event_repository import PostgresEvents
from service.adapters.postgres.rules.state_repository import PostgresRuleState
from service.adapters.postgres.social.assist_repository import PostgresAssists
from service.adapters.postgres.social.duel_repository import PostgresDuels

# What a connection that died while pooled raises on its first use. A server shutting down
# can also leave an idle connection's protocol mid-message, which asyncpg reports as an
# internal client error on the next statement.
_DEAD_CONNECTION = (
    asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
    OSError,
)  # fmt: skip


class PostgresUnitOfWork:
    """Opens a transaction on enter; leaving without commit() rolls it back.

    Hot-path statements run on the asyncpg connection itself (prepared, no SQLAlchemy
    compile or result processing), so the transaction is begun on that connection and
    SQLAlchemy is put in autocommit: its statements then run inside our transaction instead
    of opening their own.

    With `transaction=False` it only reads, each statement on its own: under READ COMMITTED
    a transaction gives a series of reads nothing more (every statement takes a fresh
    snapshot), and BEGIN and ROLLBACK would be two of a read's few round trips.
    """

    check_ins: PostgresCheckIns
    programs: PostgresPrograms
    outbox: PostgresOutbox
    boards: PostgresBoards
    scores: PostgresScores
    exclusions: PostgresExclusions
    definitions: PostgresDefinitions
    rule_state: PostgresRuleState
    events: PostgresEvents
    audit: PostgresAudit
    privacy: PostgresPrivacy
    goals: PostgresGoals
    duels: PostgresDuels
    assists: PostgresAssists
    leagues: PostgresLeagues

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        transaction: bool = True,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        """`on_wait` hears how many seconds each checkout from the pool took."""
        self._engine = engine
        self._on_wait = on_wait
        self._transactional = transaction
        self._conn: AsyncConnection | None = None
        self._transaction: Any = None  # asyncpg.transaction.Transaction, untyped
        self._unsettled = False  # a COMMIT failed or was cut off: the connection is suspect

    async def __aenter__(self) -> Self:
        try:
            conn, driver, transaction = await self._begin()
        except _DEAD_CONNECTION:
            # The engine does not ping pooled connections (that cost three round trips per
            # checkout): BEGIN is the ping. A dead pooled connection means its siblings died
            # with it (a restart, a failover), so retry once on a fresh pool.
            await self._engine.dispose(close=False)
            conn, driver, transaction = await self._begin()
        self._conn, self._transaction, self._unsettled = conn, transaction, False
        self.check_ins = PostgresCheckIns(driver)
        self.programs = PostgresPrograms(conn, driver)
        self.outbox = PostgresOutbox(driver)
        self.boards = PostgresBoards(conn)
        self.scores = PostgresScores(conn, driver)
        self.exclusions = PostgresExclusions(driver)
        self.definitions = PostgresDefinitions(driver)
        self.rule_state = PostgresRuleState(driver)
        self.events = PostgresEvents(driver)
        self.audit = PostgresAudit(conn)
        self.privacy = PostgresPrivacy(conn)
        self.goals = PostgresGoals(driver)
        self.duels = PostgresDuels(driver)
        self.assists = PostgresAssists(driver)
        self.leagues = PostgresLeagues(conn)
        return self

    async def _begin(self) -> tuple[AsyncConnection, Driver, Any]:
        start = time.perf_counter()
        conn = await self._engine.connect()
        if self._on_wait is not None:
            self._on_wait(time.perf_counter() - start)
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver: Driver | None = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            transaction = None
            if self._transactional:
                transaction = driver.transaction()  # type: ignore[attr-defined]
                await transaction.start()
        except BaseException:
            # The connection's state is unknown (say, it died under us): never pool it again.
            await conn.invalidate()
            await conn.close()
            raise
        return conn, driver, transaction

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        conn, transaction, unsettled = self._conn, self._transaction, self._unsettled
        self._conn = self._transaction = None
        if not self._transactional and isinstance(exc, _DEAD_CONNECTION):
            # No BEGIN pinged this connection: its siblings are likely dead too (see above).
            unsettled = True
            await self._engine.dispose(close=False)
        try:
            if transaction is not None:
                await transaction.rollback()
        except BaseException:
            unsettled = True
            raise
        finally:
            # The pool's reset cannot see a transaction begun on the driver: a connection
            # we could not settle must not be handed out again.
            if unsettled:
                await conn.invalidate()
            await conn.close()

    async def commit(self) -> None:
        assert self._transactional, "a reader has nothing to commit"
        assert self._transaction is not None
        transaction, self._transaction = self._transaction, None
        try:
            await transaction.commit()
        except BaseException:
            self._unsettled = True
            raise
