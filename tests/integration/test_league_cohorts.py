"""League cohorts on real Postgres and Redis: forming as members become active, concurrently."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from service.app.leagues import reads as league_reads
from service.app.rules import events
from service.app.rules.views import TrackEvent
from service.bootstrap import App
from tests.support.clock import MovableClock
from tests.support.league_game import WEEK_1, cohorts, define, league, play

pytestmark = pytest.mark.integration


async def test_cohorts_fill_one_at_a_time_and_late_joiners_land_in_the_open_one(
    app: App, clock: MovableClock
) -> None:
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app, league(cohort_size=3))
    for n in range(7):
        await play(app, f"u{n}", 10 + n, f"first-{n}")
    clock.advance(days=5)  # a late joiner, days into the season
    await play(app, "late", 1, "late-1")

    assert await cohorts(app) == {
        "bronze-1": ["u0", "u1", "u2"],
        "bronze-2": ["u3", "u4", "u5"],
        "bronze-3": ["late", "u6"],
    }


async def test_a_placed_member_scores_in_their_cohort_and_sees_it(
    app: App, clock: MovableClock
) -> None:
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app, league(cohort_size=3))
    for n, value in enumerate((5, 30, 20, 99)):
        await play(app, f"u{n}", value, f"first-{n}")
    await play(app, "u0", 40, "second-0")

    view = await league_reads.get_league("weekly", "u0", uow=app.reader(), leagues=app.leagues)
    other = await league_reads.get_league("weekly", "u3", uow=app.reader(), leagues=app.leagues)
    newcomer = await league_reads.get_league(
        "weekly", "nobody", uow=app.reader(), leagues=app.leagues
    )

    assert view.cohort == "bronze-1"
    assert [(e.member_id, e.score, e.rank) for e in view.entries] == [
        ("u0", 45, 1), ("u1", 30, 2), ("u2", 20, 3),
    ]  # fmt: skip
    assert (view.rank, view.score, str(view.zone)) == (1, 45, "promotion")
    assert [(e.member_id, e.score) for e in other.entries] == [("u3", 99)]
    assert (newcomer.cohort, newcomer.entries, newcomer.zone) == ("", (), None)
    assert newcomer.tier.tier_id == "bronze"
    assert view.seconds_left == int(dt.timedelta(days=7, hours=-1).total_seconds())


async def test_concurrent_first_events_never_overfill_a_cohort(
    app: App, clock: MovableClock
) -> None:
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app, league(cohort_size=4))
    # 18 new members at once, one of them with three events at once.
    firsts = [play(app, f"u{n:02}", 1, f"k{n}") for n in range(18)]
    repeats = [play(app, "u00", 1, f"again-{n}") for n in range(3)]
    await asyncio.gather(*firsts, *repeats)

    found = await cohorts(app)
    members = sorted(user for users in found.values() for user in users)
    assert members == sorted(f"u{n:02}" for n in range(18))
    assert sorted(len(users) for users in found.values()) == [2, 4, 4, 4, 4]
    assert sorted(found) == [f"bronze-{n}" for n in range(1, 6)]
    view = await league_reads.get_league("weekly", "u00", uow=app.reader(), leagues=app.leagues)
    assert view.score == 4


async def test_an_event_of_an_ended_season_places_no_one(app: App, clock: MovableClock) -> None:
    clock.current = WEEK_1 + dt.timedelta(days=8)
    await define(app)
    old = TrackEvent("u1", "lesson", "old", value=5, occurred_at=WEEK_1 + dt.timedelta(days=1))
    tracked = await events.track_event(old, uow=app.uow(), rules=app.rules)

    assert await cohorts(app) == {}
    assert tracked.effects.notices == (
        "not scored on board league-xp: season w2026-03-16 of league weekly is over",
    )
