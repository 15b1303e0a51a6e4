"""Leaderboard reads: each is one Redis round trip, except standings, which Postgres keeps.

A read of a board-period Redis lost waits for its rebuild, briefly (see `board_heal`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import leaderboard as lb
from service.app.boards.heal import rebuilding
from service.app.boards.mapping import BoardRef
from service.app.boards.scores import Boards, Resolved, resolve
from service.app.paging import page_size as sized
from service.app.ports import UnitOfWork
from service.domain.errors import InvalidArgument, NotFound
from service.domain.validation import check_id

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Past this a page is always empty in practice, and (page - 1) * page_size stays exact.
MAX_PAGE = 1_000_000
DEFAULT_AROUND_SIZE = 11
MAX_AROUND_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Standings:
    period_id: str
    entries: tuple[lb.Entry, ...]
    final: bool


T = TypeVar("T")


async def _read(
    operation: str,
    resolved: Resolved,
    boards: Boards,
    read: Callable[[lb.Leaderboard], Awaitable[T]],
    empty: T,
) -> T:
    """One read of the Redis copy. A copy Redis lost is rebuilt first (UNAVAILABLE while that
    takes longer than the healer's wait); where Redis should hold nothing, `empty`."""
    target = resolved.redis(boards)
    start = time.perf_counter()
    try:
        found = await read(target)
    except lb.NotLoaded:
        if boards.healer is None:
            raise
        if not await boards.healer.restore(resolved.board, resolved.key, boards):
            return empty
    else:
        boards.took(operation, start)
        return found
    try:
        return await read(target)
    except lb.NotLoaded:  # lost again at once (a retention deadline Redis's clock has passed)
        raise rebuilding(resolved.key) from None


def _page(page: int) -> int:
    """A 1-based page number; 0 means the first page."""
    if not 0 <= page <= MAX_PAGE:
        raise InvalidArgument("page", f"must be between 1 and {MAX_PAGE} (0 means 1)")
    return page or 1


async def get_page(
    ref: BoardRef, page: int, page_size: int, *, boards: Boards
) -> tuple[str, lb.Page]:
    number, size = _page(page), sized(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    resolved = await resolve(ref, boards)

    async def read(target: lb.Leaderboard) -> lb.Page:
        return await target.page(number, size)

    found = await _read("page", resolved, boards, read, lb.Page((), number, size, 0))
    return resolved.key.period_id, found


async def get_around(
    ref: BoardRef, member_id: str, size: int, *, boards: Boards
) -> tuple[str, list[lb.Entry]]:
    check_id("member_id", member_id)
    window = sized(size, DEFAULT_AROUND_SIZE, MAX_AROUND_SIZE, field="size")
    resolved = await resolve(ref, boards)

    async def read(target: lb.Leaderboard) -> list[lb.Entry]:
        return await target.around(member_id, window)

    return resolved.key.period_id, await _read("around", resolved, boards, read, [])


async def get_rank(ref: BoardRef, member_id: str, *, boards: Boards) -> tuple[str, lb.MemberRank]:
    """The member's rank in the board-period; NotFound when they have no score there."""
    check_id("member_id", member_id)
    resolved = await resolve(ref, boards)

    async def read(target: lb.Leaderboard) -> lb.MemberRank | None:
        return await target.rank_of(member_id)

    found = await _read("rank", resolved, boards, read, None)
    if found is None:
        raise NotFound("member", member_id)
    return resolved.key.period_id, found


async def get_friends(
    ref: BoardRef, member_ids: Sequence[str], *, boards: Boards
) -> tuple[str, list[lb.Entry]]:
    resolved = await resolve(ref, boards)

    async def read(target: lb.Leaderboard) -> list[lb.Entry]:
        return await target.friends(member_ids)

    return resolved.key.period_id, await _read("friends", resolved, boards, read, [])


async def get_standings(
    ref: BoardRef, page: int, page_size: int, *, uow: UnitOfWork, boards: Boards
) -> Standings:
    """The snapshot finalisation took; empty and not final before that."""
    number, size = _page(page), sized(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    resolved = await resolve(ref, boards)
    offset = (number - 1) * size
    async with uow:
        final = await uow.scores.lock_period(resolved.key, exclusive=False)
        rows = await uow.scores.standings(resolved.key, offset, size)
    entries = tuple(lb.Entry(r.member_id, r.score, r.rank, None) for r in rows)
    return Standings(resolved.key.period_id, entries, final)
