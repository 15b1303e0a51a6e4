"""Cohorts formed as members become active: each member's first scored event of a season
places them in their tier's open cohort, a partition of the league's board."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import leaderboard as lb
from service.app.boards.mapping import period_at
from service.app.boards.scores import is_closed
from service.app.leagues.ports import SeasonKey
from service.app.ports import UnitOfWork
from service.domain.boards import BoardDefinition
from service.domain.errors import FailedPrecondition
from service.domain.leagues import LeagueDefinition
from service.domain.rules.state import Event

_INSTANT = dt.timedelta(microseconds=1)


@dataclass
class Cohorts:
    """Per (board id, event key): the cohort the event scores in, or why it scores in none."""

    placed: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)

    def partition(self, board_id: str, event_key: str) -> str | None:
        return self.placed.get((board_id, event_key))

    def why_not(self, board_id: str, event_key: str) -> str:
        return self.notes.get((board_id, event_key), "no cohort")


@dataclass
class _Season:
    league: LeagueDefinition
    board: BoardDefinition
    period: lb.Period
    events: list[Event] = field(default_factory=list)


def previous_period(board: BoardDefinition, period: lb.Period) -> lb.Period:
    assert period.start is not None
    return period_at(board, period.start - _INSTANT)


async def assign(
    uow: UnitOfWork,
    leagues: Mapping[str, LeagueDefinition],
    boards: Sequence[BoardDefinition],
    events: Sequence[Event],
    now: dt.datetime,
) -> Cohorts:
    """Place every member not yet placed in the seasons these events score in.

    Placement locks the season's forming (leagues and seasons in one order), so concurrent
    first events never fill a cohort beyond its size. Call it before locking board periods.
    """
    cohorts = Cohorts()
    seasons = _seasons(leagues, boards, events, now, cohorts)
    for name in sorted(seasons):
        await _place(uow, seasons[name], now, cohorts)
    return cohorts


def _seasons(
    leagues: Mapping[str, LeagueDefinition],
    boards: Sequence[BoardDefinition],
    events: Sequence[Event],
    now: dt.datetime,
    cohorts: Cohorts,
) -> dict[tuple[str, str], _Season]:
    seasons: dict[tuple[str, str], _Season] = {}
    for board in boards:
        league = leagues.get(board.board_id)
        if league is None:
            continue
        for event in events:
            if event.type not in board.source_event_types:
                continue
            try:
                period = period_at(board, event.occurred_at)
            except FailedPrecondition as exc:
                cohorts.notes[board.board_id, event.idempotency_key] = str(exc)
                continue
            if is_closed(board, period, now):
                cohorts.notes[board.board_id, event.idempotency_key] = (
                    f"season {period.period_id} of league {league.league_id} is over"
                )
                continue
            name = (league.league_id, period.period_id)
            seasons.setdefault(name, _Season(league, board, period)).events.append(event)
    return seasons


async def _place(uow: UnitOfWork, season: _Season, now: dt.datetime, cohorts: Cohorts) -> None:
    league, period, leagues = season.league, season.period, uow.leagues
    assert period.start is not None
    users = {event.user_id for event in season.events}
    placed = await leagues.placements(league.league_id, period.period_id, users)
    found = {user: p.cohort for user, p in placed.items()}
    blocked: dict[str, str] = {}
    if missing := users - found.keys():
        members = await leagues.members(league.league_id, missing)
        if any(m.joined_at < period.start for m in members.values()):
            previous = previous_period(season.board, period)
            if not await leagues.ended(league.league_id, previous.period_id):
                # Their tier for this season is decided when the previous one ends.
                why = f"league {league.league_id} has not ended season {previous.period_id} yet"
                blocked = {u: why for u, m in members.items() if m.joined_at < period.start}
            else:  # read again: the end just seen may have moved tiers after the first read
                members = await leagues.members(league.league_id, missing)
        await leagues.lock_forming(league.league_id, period.period_id)
        # Placed meanwhile by a transaction that held the lock before this one.
        meanwhile = await leagues.placements(league.league_id, period.period_id, missing)
        found |= {user: p.cohort for user, p in meanwhile.items()}
        key = SeasonKey(league.league_id, period.period_id, period.start)
        for user in sorted(missing - found.keys() - blocked.keys()):
            member = members.get(user)
            tier = member.tier_id if member else league.entry_tier.tier_id
            found[user] = await leagues.place(key, user, tier, league.cohort_size, now)
    _note(season, found, blocked, cohorts)


def _note(
    season: _Season, placed: Mapping[str, str], blocked: Mapping[str, str], cohorts: Cohorts
) -> None:
    board_id = season.board.board_id
    for event in season.events:
        key = (board_id, event.idempotency_key)
        if event.user_id in placed:
            cohorts.placed[key] = placed[event.user_id]
        else:
            cohorts.notes[key] = blocked.get(event.user_id, "no cohort")
