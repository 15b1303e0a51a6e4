"""Leaderboard reads: each is one Redis round trip, except standings, which Postgres keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import leaderboard as lb
from service.app.board_mapping import BoardRef
from service.app.paging import page_size as sized
from service.app.ports import UnitOfWork
from service.app.scores import Boards, resolve
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
    return resolved.key.period_id, await resolved.redis(boards).page(number, size)


async def get_around(
    ref: BoardRef, member_id: str, size: int, *, boards: Boards
) -> tuple[str, list[lb.Entry]]:
    check_id("member_id", member_id)
    window = sized(size, DEFAULT_AROUND_SIZE, MAX_AROUND_SIZE, field="size")
    resolved = await resolve(ref, boards)
    entries = await resolved.redis(boards).around(member_id, window)
    return resolved.key.period_id, entries


async def get_rank(ref: BoardRef, member_id: str, *, boards: Boards) -> tuple[str, lb.MemberRank]:
    """The member's rank in the board-period; NotFound when they have no score there."""
    check_id("member_id", member_id)
    resolved = await resolve(ref, boards)
    found = await resolved.redis(boards).rank_of(member_id)
    if found is None:
        raise NotFound("member", member_id)
    return resolved.key.period_id, found


async def get_friends(
    ref: BoardRef, member_ids: Sequence[str], *, boards: Boards
) -> tuple[str, list[lb.Entry]]:
    resolved = await resolve(ref, boards)
    return resolved.key.period_id, await resolved.redis(boards).friends(member_ids)


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
