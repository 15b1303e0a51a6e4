"""Board definitions: admin handlers and the in-memory catalog the hot paths read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.catalog import Catalog
from service.app.ports import Clock, UnitOfWork
from service.domain.boards import BoardDefinition
from service.domain.errors import FailedPrecondition, NotFound
from service.domain.validation import check_id


class BoardCatalog(Catalog[dict[str, BoardDefinition]]):
    """The current version of every board, by id."""

    def __init__(
        self,
        load: Callable[[], Awaitable[list[BoardDefinition]]],
        notify: Callable[[], Awaitable[None]],
        *,
        max_age: float = 30.0,
    ) -> None:
        async def by_id() -> dict[str, BoardDefinition]:
            return {board.board_id: board for board in await load()}

        super().__init__(by_id, notify, max_age=max_age)

    async def get(self, board_id: str) -> BoardDefinition:
        """The board's current version, or NotFound."""
        board = (await self.current()).get(board_id)
        if board is None:
            raise NotFound("board", board_id)
        return board

    async def all(self) -> list[BoardDefinition]:
        return list((await self.current()).values())


async def load_boards(uow: UnitOfWork) -> list[BoardDefinition]:
    async with uow:
        return await uow.boards.all_current()


async def upsert_board(
    board: BoardDefinition,
    *,
    uow: UnitOfWork,
    catalog: BoardCatalog,
    clock: Clock,
    actor: Actor = SYSTEM,
) -> BoardDefinition:
    """Validate and store the board's next version."""
    board.validate()
    async with uow:
        current = await uow.boards.get(board.board_id)
        _check_compatible(current, board)
        stored = await uow.boards.add(board)
        before = current.version if current else None
        change = Change(
            "LeaderboardAdminService/UpsertBoard", "board", stored.board_id, before,
            stored.version,
        )  # fmt: skip
        await record(uow, actor, clock, change)
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
