"""Leaderboard reads: each is one Redis round trip, except standings, which Postgres keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import leaderboard as lb
from service.app.board_mapping import BoardRef
from service.app.ports import UnitOfWork
from service.app.scores import Boards, resolve
from service.domain.errors import InvalidArgument
from service.domain.validation import check_id

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Standings:
    period_id: str
    entries: tuple[lb.Entry, ...]
    final: bool


async def get_page(
    ref: BoardRef, page: int, page_size: int, *, boards: Boards
) -> tuple[str, lb.Page]:
    resolved = await resolve(ref, boards)
    return resolved.key.period_id, await resolved.redis(boards).page(page, page_size)


async def get_around(
    ref: BoardRef, member_id: str, size: int, *, boards: Boards
) -> tuple[str, list[lb.Entry]]:
    resolved = await resolve(ref, boards)
    entries = await resolved.redis(boards).around(check_id("member_id", member_id), size)
    return resolved.key.period_id, entries


async def get_rank(
    ref: BoardRef, member_id: str, *, boards: Boards
) -> tuple[str, lb.MemberRank | None]:
    resolved = await resolve(ref, boards)
    found = await resolved.redis(boards).rank_of(check_id("member_id", member_id))
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
    if page < 1:
        raise InvalidArgument("page", "must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    resolved = await resolve(ref, boards)
    offset = (page - 1) * page_size
    async with uow:
        final = await uow.scores.lock_period(resolved.key, exclusive=False)
        rows = await uow.scores.standings(resolved.key, offset, page_size)
    entries = tuple(lb.Entry(r.member_id, r.score, r.rank, None) for r in rows)
    return Standings(resolved.key.period_id, entries, final)
