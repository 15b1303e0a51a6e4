"""The typed slice of an asyncpg connection that the hot-path repositories use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

# An asyncpg Record: read by column name, like a SQLAlchemy RowMapping.
Row = Mapping[str, Any]


class Driver(Protocol):
    """asyncpg.Connection, which caches a prepared statement per query text."""

    # `timeout` overrides the connection's command timeout for one statement (asyncpg's API).
    async def fetch(
        self,
        query: str,
        *args: object,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> list[Row]: ...

    async def fetchrow(self, query: str, *args: object) -> Row | None: ...

    async def execute(
        self,
        query: str,
        *args: object,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> str: ...

    async def executemany(self, query: str, args: Iterable[Sequence[object]]) -> None: ...
