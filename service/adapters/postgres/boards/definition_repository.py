"""Versioned board definitions in Postgres."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres.boards import codec as board_codec
from service.adapters.postgres.boards.tables import boards
from service.domain.boards import BoardDefinition

_NEWER = sa.alias(boards, "newer")
_LATEST = sa.select(boards).where(
    ~sa.exists().where(_NEWER.c.board_id == boards.c.board_id, _NEWER.c.version > boards.c.version)
)
_NEXT_VERSION = sa.select(sa.func.coalesce(sa.func.max(boards.c.version), 0) + 1).where(
    boards.c.board_id == sa.bindparam("key_board_id")
)
_ADD_BOARD = sa.insert(boards).values(version=_NEXT_VERSION.scalar_subquery()).returning(*boards.c)


class PostgresBoards:
    """Versioned board definitions."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all_current(self) -> list[BoardDefinition]:
        rows = (await self._conn.execute(_LATEST)).mappings()
        return [board_codec.board_from_row(row) for row in rows]

    async def get(self, board_id: str) -> BoardDefinition | None:
        stmt = _LATEST.where(boards.c.board_id == board_id)
        row = (await self._conn.execute(stmt)).mappings().one_or_none()
        return board_codec.board_from_row(row) if row else None

    async def add(self, board: BoardDefinition) -> BoardDefinition:
        # Versions of one board are serialised; other boards are not blocked.
        await self._conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"board:{board.board_id}")))
        )
        params = {
            "board_id": board.board_id,
            "key_board_id": board.board_id,
            "config": board_codec.board_to_json(board),
        }
        row = (await self._conn.execute(_ADD_BOARD, params)).mappings().one()
        return board_codec.board_from_row(row)
