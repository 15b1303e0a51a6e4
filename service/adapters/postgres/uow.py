"""The Postgres unit of work: one connection, one transaction, explicit commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters.postgres.board_repositories import PostgresBoards, PostgresScores
from service.adapters.postgres.repositories import (
    PostgresCheckIns,
    PostgresOutbox,
    PostgresPrograms,
)


class PostgresUnitOfWork:
    """Opens a transaction on enter; leaving without commit() rolls it back."""

    check_ins: PostgresCheckIns
    programs: PostgresPrograms
    outbox: PostgresOutbox
    boards: PostgresBoards
    scores: PostgresScores

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        self._conn = await self._engine.connect()
        await self._conn.begin()
        self.check_ins = PostgresCheckIns(self._conn)
        self.programs = PostgresPrograms(self._conn)
        self.outbox = PostgresOutbox(self._conn)
        self.boards = PostgresBoards(self._conn)
        self.scores = PostgresScores(self._conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            await self._conn.rollback()
        finally:
            await self._conn.close()
            self._conn = None

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()
