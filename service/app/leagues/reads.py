"""League reads for players: my tier, cohort and zone now, and my past seasons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import leaderboard as lb
from service.app.boards.mapping import BoardRef, current_period
from service.app.boards.reads import get_page
from service.app.boards.scores import EPOCH
from service.app.leagues.definitions import Leagues
from service.app.leagues.ports import PastSeason
from service.app.paging import PageTokens, page_size
from service.app.ports import UnitOfWork
from service.domain.leagues import LeagueDefinition, Tier, Zone, zone_of
from service.domain.validation import check_id

DEFAULT_HISTORY_PAGE = 20
MAX_HISTORY_PAGE = 100


@dataclass(frozen=True, slots=True)
class LeagueView:
    """A member's league now. Before their first scored event of the season they are in no
    cohort: `cohort` is empty, and so are the standings."""

    league: LeagueDefinition
    tier: Tier
    period: lb.Period
    cohort: str
    entries: tuple[lb.Entry, ...]
    rank: int
    score: int
    zone: Zone | None
    seconds_left: int


async def get_league(
    league_id: str, user_id: str, *, uow: UnitOfWork, leagues: Leagues
) -> LeagueView:
    league = await leagues.catalog.get(check_id("league_id", league_id))
    check_id("user_id", user_id)
    board = await leagues.boards.catalog.get(league.board_id)
    now = leagues.clock.now()
    period = current_period(board, now)
    async with uow:
        member = (await uow.leagues.members(league_id, [user_id])).get(user_id)
        placement = (await uow.leagues.placements(league_id, period.period_id, [user_id])).get(
            user_id
        )
    tier_id = placement.tier_id if placement else member.tier_id if member else ""
    tier = league.tier(tier_id) if tier_id else league.entry_tier
    assert period.end is not None
    left = max(0, int((period.end - now).total_seconds()))
    if placement is None:
        return LeagueView(league, tier, period, "", (), 0, 0, None, left)
    ref = BoardRef(board.board_id, placement.cohort, period_id=period.period_id)
    _, page = await get_page(ref, 1, league.cohort_size, boards=leagues.boards)
    mine = next((e for e in page.entries if e.member_id == user_id), None)
    zone = zone_of(league, tier.tier_id, mine.rank, page.member_count) if mine else None
    rank, score = (mine.rank, mine.score) if mine else (0, 0)
    return LeagueView(league, tier, period, placement.cohort, page.entries, rank, score, zone, left)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    seasons: tuple[PastSeason, ...]
    next_page_token: str


async def list_history(
    league_id: str,
    user_id: str,
    requested_size: int,
    page_token: str,
    *,
    uow: UnitOfWork,
    leagues: Leagues,
    tokens: PageTokens,
) -> HistoryPage:
    """The member's ended seasons, newest first."""
    league = await leagues.catalog.get(check_id("league_id", league_id))
    check_id("user_id", user_id)
    size = page_size(requested_size, DEFAULT_HISTORY_PAGE, MAX_HISTORY_PAGE)
    where = ("league-history", league.league_id, user_id)
    cursor = tokens.decode(page_token, where)
    below = EPOCH + dt.timedelta(seconds=cursor - 1) if cursor is not None else None
    async with uow:
        rows = await uow.leagues.history(league_id, user_id, below, size + 1)
    if len(rows) <= size:
        return HistoryPage(tuple(rows), "")
    last = rows[size - 1].period_start
    return HistoryPage(
        tuple(rows[:size]), tokens.encode(int((last - EPOCH).total_seconds()) + 1, where)
    )
