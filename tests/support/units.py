"""Units of work that tests count, or whose commits fail."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.ports import UnitOfWork


class CountingUnitsOfWork:
    """Hands out Postgres units of work and counts them; the first `failing` commits fail."""

    def __init__(self, engine: AsyncEngine, failing: int = 0) -> None:
        self.engine, self.made, self.failing = engine, 0, failing

    def __call__(self) -> UnitOfWork:
        self.made += 1
        if self.failing:
            self.failing -= 1
            return FailingCommit(self.engine)
        return PostgresUnitOfWork(self.engine)


class FailingCommit(PostgresUnitOfWork):
    async def commit(self) -> None:
        raise OSError("connection reset during commit")
