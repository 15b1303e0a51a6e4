"""League seasons across DST changes in the board's timezone, history pages, and privacy."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app.leagues import reads as league_reads
from service.app.privacy import handlers as privacy
from service.bootstrap import App
from service.domain.errors import FailedPrecondition
from service.domain.leagues import Outcome
from tests.support.clock import MovableClock
from tests.support.league_game import WEEK, WEEK_1, define, end, league, play
from tests.support.privacy_scan import postgres_mentions

pytestmark = pytest.mark.integration

# Berlin moves to CEST on Sunday 2026-03-29: the week from the 23rd is 167 hours long.
SPRING_WEEK_END = dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)
LEAGUE_TABLES = {"league_members", "league_placements", "league_results"}


async def _view(app: App, user_id: str) -> league_reads.LeagueView:
    return await league_reads.get_league("weekly", user_id, uow=app.reader(), leagues=app.leagues)


async def test_a_season_ends_at_local_midnight_across_the_spring_change(
    app: App, clock: MovableClock
) -> None:
    clock.current = WEEK_1 + WEEK + dt.timedelta(hours=1)
    await define(app, league(cohort_size=5))
    await play(app, "ana", 5, "w2-1")
    clock.current = SPRING_WEEK_END - dt.timedelta(minutes=1)
    await play(app, "ana", 7, "w2-last-minute")
    before = await _view(app, "ana")
    clock.current = SPRING_WEEK_END - dt.timedelta(microseconds=1)
    with pytest.raises(FailedPrecondition):
        await end(app, "w2026-03-23")

    clock.current = SPRING_WEEK_END
    blocked = await play(app, "ana", 1, "w3-too-soon")
    ended = await end(app)
    await play(app, "ana", 3, "w3-1")
    after = await _view(app, "ana")

    assert (before.period.period_id, before.score, before.seconds_left) == ("w2026-03-23", 12, 60)
    assert before.period.start == dt.datetime(2026, 3, 22, 23, tzinfo=dt.UTC)
    assert ended.period_id == "w2026-03-23"
    assert blocked.effects.notices != ()
    assert (after.period.period_id, after.tier.tier_id, after.score) == ("w2026-03-30", "silver", 3)
    assert after.period.end == dt.datetime(2026, 4, 5, 22, tzinfo=dt.UTC)


async def test_the_autumn_week_is_169_hours(app: App, clock: MovableClock) -> None:
    clock.current = dt.datetime(2026, 10, 25, 12, tzinfo=dt.UTC)
    await define(app)

    view = await _view(app, "ana")

    assert view.period.start == dt.datetime(2026, 10, 18, 22, tzinfo=dt.UTC)
    assert view.period.end == dt.datetime(2026, 10, 25, 23, tzinfo=dt.UTC)
    assert view.seconds_left == 11 * 3600


async def test_history_pages_newest_first_with_outcomes_and_rewards(
    app: App, clock: MovableClock
) -> None:
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app)
    for week in range(3):
        clock.current = WEEK_1 + week * WEEK + dt.timedelta(hours=1)
        await play(app, "ana", 10, f"w{week}-ana")
        await play(app, "bob", 1, f"w{week}-bob")
        clock.current = WEEK_1 + (week + 1) * WEEK
        await end(app)

    first = await league_reads.list_history(
        "weekly", "ana", 2, "", uow=app.reader(), leagues=app.leagues, tokens=app.page_tokens
    )
    second = await league_reads.list_history(
        "weekly", "ana", 2, first.next_page_token, uow=app.reader(), leagues=app.leagues,
        tokens=app.page_tokens,
    )  # fmt: skip

    seasons = [*first.seasons, *second.seasons]
    assert [s.period_id for s in seasons] == ["w2026-03-30", "w2026-03-23", "w2026-03-16"]
    assert [(s.result.tier_id, s.result.rank, s.result.outcome) for s in seasons] == [
        ("gold", 1, Outcome.STAYED),
        ("silver", 1, Outcome.PROMOTED),
        ("bronze", 1, Outcome.PROMOTED),
    ]
    assert [len(s.result.rewards) for s in seasons] == [1, 1, 2]
    assert second.next_page_token == ""


async def test_a_members_league_rows_are_exported_and_erased(app: App, clock: MovableClock) -> None:
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(app)
    await play(app, "erase-me-4711", 10, "k1")
    await play(app, "keep-me", 5, "k2")
    clock.current = WEEK_1 + WEEK
    await end(app)

    exported = await privacy.export_user_data("erase-me-4711", uow=app.uow())
    await privacy.delete_user_data(
        privacy.DeleteUserData("erase-me-4711", "asked to"), uow=app.uow(), boards=app.boards
    )
    mentions = await postgres_mentions(app.engine, "erase-me-4711")

    assert set(exported.tables) >= LEAGUE_TABLES
    assert not [m for m in mentions if m.split(".")[0] in LEAGUE_TABLES]
    kept = await privacy.export_user_data("keep-me", uow=app.uow())
    assert set(kept.tables) >= LEAGUE_TABLES
