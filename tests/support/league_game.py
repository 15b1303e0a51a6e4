"""A weekly league on a Berlin board, and helpers to play and end its seasons in tests."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from service.adapters.postgres.tables import grant_outbox
from service.app.boards import definitions as boards
from service.app.leagues import definitions as leagues
from service.app.leagues import seasons as league_seasons
from service.app.leagues.seasons import SeasonEnd
from service.app.rules import events
from service.app.rules.views import Tracked, TrackEvent
from service.bootstrap import App
from service.domain.boards import (
    Aggregation,
    BoardDefinition,
    PeriodKind,
    RankReward,
    SortOrder,
    TiePolicy,
)
from service.domain.leagues import IdleRule, LeagueDefinition, Tier
from service.domain.rewards import Reward, RewardKind

BERLIN = "Europe/Berlin"
# Monday 2026-03-16 00:00 in Berlin (CET, UTC+1): a season from here to the 23rd.
WEEK_1 = dt.datetime(2026, 3, 15, 23, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)
POINTS = Reward(RewardKind.POINTS, 100)
CHEST = Reward(RewardKind.ITEM, 1, "chest")

BOARD = BoardDefinition(
    board_id="league-xp",
    title="League XP",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.FIRST_TO_REACH,
    period=PeriodKind.WEEKLY,
    timezone=BERLIN,
    retention_periods=2,
    source_event_types=("lesson",),
    partition_attribute="cohort",
)


def league(cohort_size: int = 5, idle: IdleRule = IdleRule.DROP) -> LeagueDefinition:
    """Bronze, Silver, Gold: two up from Bronze; one up and one down in Silver; one down in Gold."""
    return LeagueDefinition(
        league_id="weekly",
        title="Weekly League",
        board_id=BOARD.board_id,
        cohort_size=cohort_size,
        tiers=(
            Tier("bronze", "Bronze", promote_count=2, idle_rule=IdleRule.STAY,
                 rank_rewards=(RankReward(1, 1, (POINTS,)),), promotion_rewards=(CHEST,)),
            Tier("silver", "Silver", promote_count=1, demote_count=1, idle_rule=idle,
                 rank_rewards=(RankReward(1, 1, (POINTS,)),)),
            Tier("gold", "Gold", demote_count=1, idle_rule=idle,
                 rank_rewards=(RankReward(1, 3, (POINTS,)),)),
        ),
    )  # fmt: skip


async def define(app: App, definition: LeagueDefinition | None = None) -> LeagueDefinition:
    await boards.upsert_board(BOARD, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    return await leagues.upsert_league(definition or league(), uow=app.uow(), leagues=app.leagues)


async def play(app: App, user_id: str, value: int, key: str) -> Tracked:
    cmd = TrackEvent(user_id, "lesson", key, value=value)
    return await events.track_event(cmd, uow=app.uow(), rules=app.rules)


async def end(app: App, period_id: str = "") -> SeasonEnd:
    return await league_seasons.end_season(
        "weekly", period_id, uow=app.uow(), leagues=app.leagues, rules=app.rules
    )


async def tiers(app: App) -> dict[str, str]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(sa.text("select user_id, tier_id from league_members"))
        return {r.user_id: r.tier_id for r in rows}


async def cohorts(app: App) -> dict[str, list[str]]:
    """Members by cohort, over every season."""
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            sa.text("select cohort, user_id from league_placements order by cohort, user_id")
        )
        found: dict[str, list[str]] = {}
        for r in rows:
            found.setdefault(f"{r.cohort}", []).append(r.user_id)
        return found


async def grant_keys(app: App) -> list[str]:
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(grant_outbox.c.idempotency_key).order_by(grant_outbox.c.idempotency_key)
        )
        return list(rows.scalars())
