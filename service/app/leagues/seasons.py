"""A league season's end: finalise every cohort, move members one tier, grant the rewards;
exactly once however often, and by however many replicas, it runs."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import leaderboard as lb
from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.mapping import BoardRef, period_at, period_of
from service.app.boards.periods import finalize_period
from service.app.boards.ports import BoardKey
from service.app.boards.scores import is_closed
from service.app.leagues.cohorts import previous_period
from service.app.leagues.definitions import Leagues
from service.app.leagues.ports import PastSeason, Placement, SeasonKey
from service.app.live.publish import publish_season
from service.app.ports import UnitOfWork
from service.app.rules.outcomes import Rules
from service.domain.boards import BoardDefinition
from service.domain.errors import FailedPrecondition, InvalidArgument
from service.domain.leagues import (
    LeagueDefinition,
    Outcome,
    Result,
    cohort_results,
    idle_result,
    season_grants,
)
from service.domain.validation import check_id

log = logging.getLogger(__name__)

# How many ended seasons each pass looks back at, so downtime still ends them all, in order.
CATCH_UP_SEASONS = 7
# More than a cohort ever holds: a cohort's standings are read whole.
_COHORT_READ_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class SeasonEnd:
    period_id: str
    members: int
    promoted: int
    demoted: int
    grants: int
    already_ended: bool


async def end_season(
    league_id: str,
    period_id: str,
    *,
    uow: UnitOfWork,
    leagues: Leagues,
    rules: Rules | None = None,
    actor: Actor = SYSTEM,
) -> SeasonEnd:
    """End the season `period_id` (empty: the latest ended one) of the league."""
    league = await leagues.catalog.get(check_id("league_id", league_id))
    board = await leagues.boards.catalog.get(league.board_id)
    now = leagues.clock.now()
    period = _season(board, period_id, now)
    if not is_closed(board, period, now):
        raise FailedPrecondition(
            f"season {period.period_id} of league {league_id} is still open to scores"
        )
    async with uow:
        if await uow.leagues.ended(league_id, period.period_id):
            return SeasonEnd(period.period_id, 0, 0, 0, 0, already_ended=True)
        await _check_previous_ended(uow, league, board, period)
        cohorts = await uow.leagues.cohorts(league_id, period.period_id)
    # Each cohort's finalisation is its own transaction, and a no-op once done: a run that
    # died among them is completed by the next.
    for _, cohort in cohorts:
        ref = BoardRef(board.board_id, cohort, False, period.period_id)
        await finalize_period(ref, uow=uow, boards=leagues.boards, rules=rules)
    return await _apply(league, board, period, cohorts, uow=uow, leagues=leagues, actor=actor)


def _season(board: BoardDefinition, period_id: str, now: dt.datetime) -> lb.Period:
    if period_id:
        try:
            return period_of(board, BoardRef(board.board_id, period_id=period_id), now)
        except InvalidArgument as exc:
            raise InvalidArgument("period_id", exc.rule) from exc
    return previous_period(board, period_at(board, now))


async def _check_previous_ended(
    uow: UnitOfWork, league: LeagueDefinition, board: BoardDefinition, period: lb.Period
) -> None:
    """Seasons end in order: each member's tier comes from the season before."""
    previous = previous_period(board, period)
    assert previous.end is not None
    if not await uow.leagues.any_member_before(league.league_id, previous.end):
        return  # nobody was in the league then
    if not await uow.leagues.ended(league.league_id, previous.period_id):
        raise FailedPrecondition(
            f"season {previous.period_id} of league {league.league_id} must end first"
        )


async def _apply(
    league: LeagueDefinition,
    board: BoardDefinition,
    period: lb.Period,
    cohorts: Sequence[tuple[str, str]],
    *,
    uow: UnitOfWork,
    leagues: Leagues,
    actor: Actor,
) -> SeasonEnd:
    """Results, tier moves, grants and the season's end marker, in one transaction."""
    assert period.start is not None
    async with uow:
        # A second runner waits here, then sees the season ended.
        await uow.leagues.lock_season(league.league_id, period.period_id)
        if await uow.leagues.ended(league.league_id, period.period_id):
            return SeasonEnd(period.period_id, 0, 0, 0, 0, already_ended=True)
        results = await _results(uow, league, board, period, cohorts)
        grants = season_grants(league, period.period_id, results)
        await uow.outbox.add(grants)
        key = SeasonKey(league.league_id, period.period_id, period.start)
        await uow.leagues.end(key, results, len(grants), leagues.clock.now())
        ended = _summary(period.period_id, results, len(grants))
        details: dict[str, object] = {
            "members": ended.members, "promoted": ended.promoted, "demoted": ended.demoted,
            "grants": ended.grants, "league_version": league.version,
        }  # fmt: skip
        change = Change(
            "LeagueAdminService/EndLeagueSeason", "league_season",
            f"{league.league_id}:{period.period_id}", details=details,
        )  # fmt: skip
        await record(uow, actor, leagues.clock, change)
        await uow.commit()
    seasons = {r.user_id: PastSeason(period.period_id, period.start, r) for r in results}
    await publish_season(
        leagues.boards.feed, league.league_id, seasons, grants, leagues.clock.now()
    )
    return ended


async def _results(
    uow: UnitOfWork,
    league: LeagueDefinition,
    board: BoardDefinition,
    period: lb.Period,
    cohorts: Sequence[tuple[str, str]],
) -> list[Result]:
    assert period.start is not None
    placements = await uow.leagues.season_placements(league.league_id, period.period_id)
    results: list[Result] = []
    for tier_id, cohort in cohorts:
        members = {user for user, p in placements.items() if p == Placement(tier_id, cohort)}
        key = BoardKey(board.board_id, cohort, period.period_id)
        rows = await uow.scores.standings(key, 0, _COHORT_READ_LIMIT)
        ranked = [(r.rank, r.member_id, r.score) for r in rows if r.member_id in members]
        results += cohort_results(league, tier_id, cohort, ranked)
        # Placed, but without a score at the end (removed, excluded, or never scored).
        scored = {user for _, user, _ in ranked}
        results += [idle_result(league, u, tier_id, cohort) for u in sorted(members - scored)]
    idle = await uow.leagues.idle_members(league.league_id, period.period_id, period.start)
    results += [idle_result(league, user, tier) for user, tier in sorted(idle.items())]
    return results


def _summary(period_id: str, results: Sequence[Result], grants: int) -> SeasonEnd:
    promoted = sum(r.outcome is Outcome.PROMOTED for r in results)
    demoted = sum(r.next_tier_id != r.tier_id and r.outcome is not Outcome.PROMOTED
                  for r in results)  # fmt: skip
    return SeasonEnd(period_id, len(results), promoted, demoted, grants, already_ended=False)


async def end_due(*, uow: UnitOfWork, leagues: Leagues, rules: Rules | None = None) -> int:
    """End every league season that is over; return how many were ended."""
    done = 0
    for league in (await leagues.catalog.current()).values():
        # One league's failure must not hold back the others' moves and rewards.
        try:
            done += await _end_league(league, uow=uow, leagues=leagues, rules=rules)
        except Exception:
            log.exception("ending seasons of league %s failed", league.league_id)
    return done


async def _end_league(
    league: LeagueDefinition, *, uow: UnitOfWork, leagues: Leagues, rules: Rules | None
) -> int:
    board = await leagues.boards.catalog.get(league.board_id)
    now = leagues.clock.now()
    seasons = [previous_period(board, period_at(board, now))]
    for _ in range(CATCH_UP_SEASONS - 1):
        seasons.append(previous_period(board, seasons[-1]))
    done = 0
    for period in reversed(seasons):  # oldest first: seasons end in order
        assert period.end is not None
        if not is_closed(board, period, now):
            continue
        async with uow:
            due = await uow.leagues.any_member_before(league.league_id, period.end)
            due = due and not await uow.leagues.ended(league.league_id, period.period_id)
        if due:
            ended = await end_season(
                league.league_id, period.period_id, uow=uow, leagues=leagues, rules=rules
            )
            done += not ended.already_ended
    return done
