"""League season ends on real Postgres and Redis: moves and rewards exactly once, in order."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards import periods as board_periods
from service.app.boards.mapping import BoardRef
from service.app.leagues import reads as league_reads
from service.app.leagues import seasons as league_seasons
from service.bootstrap import App
from service.domain.errors import FailedPrecondition
from service.domain.leagues import Outcome
from tests.support.clock import MovableClock
from tests.support.league_game import (
    WEEK,
    WEEK_1,
    cohorts,
    define,
    end,
    grant_keys,
    league,
    play,
    tiers,
)

pytestmark = pytest.mark.integration

W1, W2 = "w2026-03-16", "w2026-03-23"


async def _season_one(app: App, clock: MovableClock, size: int = 5) -> None:
    """Seven members in Bronze; u0 scores most. Cohorts of five: u0..u4 and u5, u6."""
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app, league(cohort_size=size))
    for n in range(7):
        await play(app, f"u{n}", 100 - n, f"w1-{n}")
    clock.current = WEEK_1 + WEEK


async def test_a_season_end_moves_the_zones_and_grants_once(app: App, clock: MovableClock) -> None:
    await _season_one(app, clock)

    first = await end(app)
    again = await end(app, W1)

    assert (first.period_id, first.members, first.promoted, first.demoted) == (W1, 7, 4, 0)
    assert first.grants == 2 + 4  # rank 1 of two cohorts, a chest per promotion
    assert again.already_ended
    assert again.grants == 0
    assert await tiers(app) == {
        "u0": "silver", "u1": "silver", "u2": "bronze", "u3": "bronze", "u4": "bronze",
        "u5": "silver", "u6": "silver",
    }  # fmt: skip
    assert len(await grant_keys(app)) == 6
    assert "league:weekly:w2026-03-16:u0:reward:0" in await grant_keys(app)


async def test_a_season_is_not_ended_while_it_is_open(app: App, clock: MovableClock) -> None:
    await _season_one(app, clock)
    clock.current = WEEK_1 + WEEK - dt.timedelta(seconds=1)

    with pytest.raises(FailedPrecondition, match="is still open to scores"):
        await end(app, W1)


class _Crash(Exception):
    pass


class _CrashingUnitOfWork(PostgresUnitOfWork):
    """A unit of work whose n-th entry fails at `where` after doing real work before it."""

    def __init__(self, engine: AsyncEngine, where: str, entry: int, counter: list[int]) -> None:
        super().__init__(engine)
        self._where, self._entry, self._counter = where, entry, counter

    async def __aenter__(self) -> _CrashingUnitOfWork:
        await super().__aenter__()
        self._counter[0] += 1
        if self._counter[0] == self._entry:
            target = self.leagues if self._where == "end" else self.scores

            async def crash(*args: object, **kwargs: object) -> None:
                raise _Crash(self._where)

            setattr(target, self._where, crash)
        return self


@pytest.mark.parametrize(
    ("where", "entry"),
    [
        ("finalize", 3),  # the second cohort's finalisation: the first one is committed
        ("end", 4),  # after results, tiers and grants are written, before the marker
    ],
)
async def test_a_crash_midway_then_a_rerun_applies_the_season_once(
    app: App, clock: MovableClock, where: str, entry: int
) -> None:
    await _season_one(app, clock)
    crashing = _CrashingUnitOfWork(app.engine, where, entry, [0])

    with pytest.raises(_Crash):
        await league_seasons.end_season("weekly", W1, uow=crashing, leagues=app.leagues)
    assert set((await tiers(app)).values()) == {"bronze"}
    assert await grant_keys(app) == []
    rerun = await end(app, W1)

    assert (rerun.members, rerun.promoted, rerun.grants, rerun.already_ended) == (7, 4, 6, False)
    assert len(await grant_keys(app)) == 6
    assert list((await tiers(app)).values()).count("silver") == 4


async def test_two_runners_at_once_end_the_season_once(app: App, clock: MovableClock) -> None:
    await _season_one(app, clock)

    runs = await asyncio.gather(end(app, W1), end(app, W1), end(app, W1))
    background = await league_seasons.end_due(uow=app.uow(), leagues=app.leagues)

    assert sorted(r.already_ended for r in runs) == [False, True, True]
    assert background == 0
    assert len(await grant_keys(app)) == 6


async def test_the_upkeep_ends_due_seasons_oldest_first(app: App, clock: MovableClock) -> None:
    await _season_one(app, clock)
    clock.current = WEEK_1 + 2 * WEEK  # two seasons over; nobody played the second

    ended = await asyncio.gather(
        league_seasons.end_due(uow=app.uow(), leagues=app.leagues),
        league_seasons.end_due(uow=app.uow(), leagues=app.leagues),
    )

    assert sum(ended) == 2
    assert await end(app, W2) == league_seasons.SeasonEnd(W2, 0, 0, 0, 0, already_ended=True)
    # Idle all of W2: Silver drops (rule "drop"), Bronze stays.
    assert set((await tiers(app)).values()) == {"bronze"}


async def test_seasons_end_in_order(app: App, clock: MovableClock) -> None:
    await _season_one(app, clock)
    clock.current = WEEK_1 + 3 * WEEK

    with pytest.raises(FailedPrecondition, match="season w2026-03-16 of league weekly must end"):
        await end(app, W2)


async def test_last_seasons_members_wait_for_its_end_to_be_placed(
    app: App, clock: MovableClock
) -> None:
    await _season_one(app, clock)
    clock.current = WEEK_1 + WEEK + dt.timedelta(minutes=1)

    early = await play(app, "u0", 5, "w2-early")
    newcomer = await play(app, "new", 5, "w2-new")
    await end(app, W1)
    later = await play(app, "u0", 7, "w2-later")
    view = await league_reads.get_league("weekly", "u0", uow=app.reader(), leagues=app.leagues)

    assert early.effects.notices == (
        "not scored on board league-xp: league weekly has not ended season w2026-03-16 yet",
    )
    assert newcomer.effects.notices == ()
    assert later.effects.notices == ()
    assert (view.tier.tier_id, view.cohort, view.score) == ("silver", "silver-1", 7)
    assert "new" in (await cohorts(app))["bronze-1"]


async def test_tier_edges_and_idle_members(app: App, clock: MovableClock) -> None:
    """Gold's best stays (no tier above), Bronze's last stays (none below), Silver's last
    drops, and idle members follow their tier's rule."""
    await _season_one(app, clock, size=2)  # cohorts: u0 u1 | u2 u3 | u4 u5 | u6
    await end(app, W1)  # promoted: u0 u1 u2 u3 u4 u5 u6 (two per cohort)
    for n, value in enumerate((50, 40, 30, 20)):  # silver-1: u0 u1, silver-2: u2 u3
        await play(app, f"u{n}", value, f"w2-{n}")
    clock.current = WEEK_1 + 2 * WEEK
    second = await end(app, W2)
    found = await tiers(app)

    assert (second.members, second.promoted, second.demoted) == (7, 2, 5)  # idle drops too
    # u0, u2 up; u1, u3 down; u4..u6 idle in Silver (drop).
    assert found == {
        "u0": "gold", "u1": "bronze", "u2": "gold", "u3": "bronze", "u4": "bronze",
        "u5": "bronze", "u6": "bronze",
    }  # fmt: skip
    clock.current = WEEK_1 + 2 * WEEK + dt.timedelta(hours=1)
    for n in (0, 2):
        await play(app, f"u{n}", 10 - n, f"w3-{n}")
    clock.current = WEEK_1 + 3 * WEEK
    third = await end(app, "w2026-03-30")
    found = await tiers(app)
    # gold-1: u0 first (nothing above: stays), u2 last (down); Bronze idles stay.
    assert (found["u0"], found["u2"], found["u1"], found["u6"]) == (
        "gold", "silver", "bronze", "bronze",
    )  # fmt: skip
    assert (third.promoted, third.demoted) == (0, 1)


async def test_a_member_removed_from_their_cohort_counts_as_idle(
    app: App, clock: MovableClock
) -> None:
    await _season_one(app, clock)
    clock.current = WEEK_1 + dt.timedelta(days=2)
    ref = BoardRef("league-xp", "bronze-1")
    await board_periods.remove_member(ref, "u0", uow=app.uow(), boards=app.boards)
    clock.current = WEEK_1 + WEEK

    await end(app, W1)
    history = await league_reads.list_history(
        "weekly", "u0", 0, "", uow=app.reader(), leagues=app.leagues, tokens=app.page_tokens
    )

    [season] = history.seasons
    assert (season.result.cohort, season.result.rank, season.result.outcome) == (
        "bronze-1", 0, Outcome.IDLE,
    )  # fmt: skip
    assert (await tiers(app))["u1"] == "silver"  # first of the rest
