"""The demo game's league: weekly cohorts of 30 on a board of order value, Bronze to Diamond."""

from __future__ import annotations

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

DEMO_LEAGUE_BOARD = BoardDefinition(
    board_id="league-orders",
    title="Weekly league: order value",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.FIRST_TO_REACH,
    period=PeriodKind.WEEKLY,
    timezone="Europe/Berlin",
    retention_periods=2,
    source_event_types=("order.paid",),
    # The service sets each member's partition to their cohort.
    partition_attribute="cohort",
)


def _top3(points: int) -> tuple[RankReward, ...]:
    return (RankReward(1, 3, (Reward(RewardKind.POINTS, points),)),)


_CHEST = (Reward(RewardKind.ITEM, 1, "league-chest"),)

DEMO_LEAGUE = LeagueDefinition(
    league_id="weekly",
    title="Weekly League",
    board_id=DEMO_LEAGUE_BOARD.board_id,
    cohort_size=30,
    tiers=(
        Tier("bronze", "Bronze", promote_count=7, rank_rewards=_top3(50),
             promotion_rewards=_CHEST),
        Tier("silver", "Silver", promote_count=7, demote_count=5, idle_rule=IdleRule.DROP,
             rank_rewards=_top3(100), promotion_rewards=_CHEST),
        Tier("gold", "Gold", promote_count=5, demote_count=5, idle_rule=IdleRule.DROP,
             rank_rewards=_top3(200), promotion_rewards=_CHEST),
        Tier("diamond", "Diamond", demote_count=5, idle_rule=IdleRule.DROP,
             rank_rewards=_top3(500)),
    ),
)  # fmt: skip
