"""The periods of a board: which ones hold scores, their bounds, and which are final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import leaderboard as lb
from service.app.boards.mapping import check_partition, period_at, period_spec, running_period
from service.app.boards.scores import EPOCH, Boards
from service.app.paging import PageTokens, page_size
from service.app.ports import UnitOfWork
from service.domain.boards import BoardDefinition
from service.domain.validation import check_id

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class PeriodInfo:
    period: lb.Period
    final: bool
    # The period reads name when they name none.
    current: bool


@dataclass(frozen=True, slots=True)
class PeriodPage:
    periods: tuple[PeriodInfo, ...]
    next_page_token: str


def _cursor(period: lb.Period) -> int:
    """A page token's id for the page below `period`: its start in seconds, plus one (ids
    start at 1; nothing is scored before 1970)."""
    assert period.start is not None  # only all-time periods lack one, and they are alone
    return int((period.start - EPOCH).total_seconds()) + 1


def _below(board: BoardDefinition, cursor: int | None) -> str | None:
    """The id of the period a cursor names: the next page lists the periods below it."""
    if cursor is None:
        return None
    return period_at(board, EPOCH + dt.timedelta(seconds=cursor - 1)).period_id


async def list_periods(
    board_id: str,
    partition: str,
    requested_size: int,
    page_token: str,
    *,
    uow: UnitOfWork,
    boards: Boards,
    tokens: PageTokens,
) -> PeriodPage:
    """Newest first: the current period and every period that held a score."""
    board = await boards.catalog.get(check_id("board_id", board_id))
    partition = check_partition(board, partition, "partition")
    size = page_size(requested_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    cursor = tokens.decode(page_token, ("periods", board_id, partition))
    below = _below(board, cursor)
    async with uow:
        rows = dict(await uow.scores.periods(board_id, partition, below, size + 1))
    current = running_period(board, boards.clock.now())
    if current is not None and (below is None or current.period_id < below):
        rows.setdefault(current.period_id, False)
    ids = sorted(rows, reverse=True)
    found = tuple(_info(board, period_id, rows[period_id], current) for period_id in ids[:size])
    if len(ids) <= size:
        return PeriodPage(found, "")
    where = ("periods", board_id, partition)
    return PeriodPage(found, tokens.encode(_cursor(found[-1].period), where))


def _info(
    board: BoardDefinition, period_id: str, final: bool, current: lb.Period | None
) -> PeriodInfo:
    period = lb.period_of_id(period_spec(board), board.timezone, period_id)
    return PeriodInfo(period, final, current is not None and period_id == current.period_id)
