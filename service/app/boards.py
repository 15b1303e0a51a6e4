"""Board definitions: admin handlers and the in-memory catalog the hot paths read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from service.app.ports import UnitOfWork
from service.domain.boards import BoardDefinition
from service.domain.errors import FailedPrecondition, NotFound
from service.domain.validation import check_id


class BoardCatalog:
    """The current version of every board, held in memory.

    Submissions and reads never query definitions. An update invalidates the catalog at once
    in the replica that made it and, through `notify`, in the others; a reload also happens
    after `max_age` seconds in case a notification was lost.
    """

    def __init__(
        self,
        load: Callable[[], Awaitable[list[BoardDefinition]]],
        notify: Callable[[], Awaitable[None]],
        *,
        max_age: float = 30.0,
    ) -> None:
        self._load = load
        self._notify = notify
        self._max_age = max_age
        self._boards: dict[str, BoardDefinition] = {}
        self._loaded_at = -max_age
        self._generation = 0
        self._lock = asyncio.Lock()

    async def get(self, board_id: str) -> BoardDefinition:
        """The board's current version, or NotFound."""
        if time.monotonic() - self._loaded_at >= self._max_age:
            await self._reload()
        board = self._boards.get(board_id)
        if board is None:
            raise NotFound("board", board_id)
        return board

    async def all(self) -> list[BoardDefinition]:
        if time.monotonic() - self._loaded_at >= self._max_age:
            await self._reload()
        return list(self._boards.values())

    def invalidate(self) -> None:
        """Reload on the next read; called when any replica stored a new version."""
        self._generation += 1
        self._loaded_at = -self._max_age

    async def changed(self) -> None:
        """Invalidate here and tell the other replicas."""
        self.invalidate()
        await self._notify()

    async def _reload(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._max_age:
                return  # another caller reloaded while this one waited
            started, generation = time.monotonic(), self._generation
            self._boards = {board.board_id: board for board in await self._load()}
            # An invalidation during the load may have come after the rows were read.
            if generation == self._generation:
                self._loaded_at = started


async def load_boards(uow: UnitOfWork) -> list[BoardDefinition]:
    async with uow:
        return await uow.boards.all_current()


async def upsert_board(
    board: BoardDefinition, *, uow: UnitOfWork, catalog: BoardCatalog
) -> BoardDefinition:
    """Validate and store the board's next version."""
    board.validate()
    async with uow:
        _check_compatible(await uow.boards.get(board.board_id), board)
        stored = await uow.boards.add(board)
        await uow.commit()
    await catalog.changed()
    return stored


# What a board's stored standings depend on: their Redis layout, and which period and
# partition every stored score belongs to. Changing any of them would strand those scores.
FIXED_FIELDS = (
    "sort_order",
    "tie_policy",
    "period",
    "week_start",
    "timezone",
    "season_start",
    "season_end",
    "partition_attribute",
)


def _check_compatible(current: BoardDefinition | None, new: BoardDefinition) -> None:
    if current is None:
        return
    for name in FIXED_FIELDS:
        if getattr(current, name) != getattr(new, name):
            raise FailedPrecondition(
                f"board {new.board_id} cannot change its {name}; define a new board instead"
            )


async def get_board(board_id: str, *, uow: UnitOfWork) -> BoardDefinition:
    check_id("board_id", board_id)
    async with uow:
        board = await uow.boards.get(board_id)
    if board is None:
        raise NotFound("board", board_id)
    return board


async def list_boards(*, uow: UnitOfWork) -> list[BoardDefinition]:
    async with uow:
        return sorted(await uow.boards.all_current(), key=lambda b: b.board_id)
