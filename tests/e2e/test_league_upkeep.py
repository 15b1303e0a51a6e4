"""The background upkeep of two replicas ends a league season by itself, once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import build_app
from service.entrypoints.board_upkeep import start_board_upkeep
from service.settings import Settings
from tests.support.clock import MovableClock
from tests.support.league_game import WEEK, WEEK_1, define, grant_keys, play, tiers
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


async def test_two_replicas_upkeep_ends_the_season_once(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    first, second = build_app(settings, clock), build_app(settings, clock)
    clock.current = WEEK_1 + dt.timedelta(hours=1)
    await define(first)
    for n in range(4):
        await play(first, f"u{n}", 10 - n, f"k{n}")
    clock.current = WEEK_1 + WEEK
    upkeeps = [start_board_upkeep(first), start_board_upkeep(second)]
    try:

        async def moved() -> bool:
            return list((await tiers(first)).values()).count("silver") == 2

        await wait_until(moved, within=20, what="the upkeep to end the season")
    finally:
        for upkeep in upkeeps:
            await upkeep.stop()
        keys = await grant_keys(first)
        await first.close()
        await second.close()

    # Rank 1 points and a chest for each of the two promoted.
    assert len(keys) == 3
