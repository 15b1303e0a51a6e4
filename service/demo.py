"""The demo game `make run` loads into an empty database: a check-in program, rules and a
duel type (its league is in demo_league)."""

from __future__ import annotations

import datetime as dt

from service.domain.check_in import CheckInProgram, Milestone
from service.domain.duels import DuelType
from service.domain.goals import GoalDefinition, GoalMilestone, MetricKind
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.assists import AssistRule
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Level,
    LevelTable,
    Measure,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.windows import Cadence

DEMO_PROGRAM = CheckInProgram(
    version=0,
    cycle=(
        *((Reward(RewardKind.POINTS, 10 * day),) for day in range(1, 7)),
        (Reward(RewardKind.ITEM, 1, "treasure-chest"),),
    ),
    milestones=(
        # Valid for two weeks: ListInventory shows when it expires.
        Milestone(7, (Reward(RewardKind.COUPON, 1, "streak-7-coupon", valid_days=14),)),
        Milestone(30, (Reward(RewardKind.POINTS, 500),)),
        Milestone(100, (Reward(RewardKind.ITEM, 1, "golden-frame"),)),
    ),
    starting_freezes=1,
    freeze_earned_every_days=7,
    max_freezes=3,
    make_up_window_days=3,
    make_up_tickets_per_month=2,
)


def _points(amount: int) -> tuple[Reward, ...]:
    return (Reward(RewardKind.POINTS, amount),)


DEMO_DEFINITIONS: tuple[Definition, ...] = (
    LevelTable(
        levels=(
            Level(1, "Bronze", 0),
            Level(2, "Silver", 500),
            Level(3, "Gold", 2000, _points(200)),
            Level(4, "King", 10000, (Reward(RewardKind.ITEM, 1, "crown"),)),
        )
    ),
    TaskDefinition(
        "daily-order", "Order anything today", "order.paid",
        (TaskTier(1, (*_points(20), Reward(RewardKind.XP, 50))),), cadence=Cadence.DAILY,
    ),
    TaskDefinition(
        "book-lover", "Spend 100.00 on books this week", "order.paid",
        (TaskTier(10000, (Reward(RewardKind.COUPON, 1, "books-10-off", valid_days=30),)),),
        measure=Measure.SUM, cadence=Cadence.WEEKLY,
        conditions=(Condition("attributes.category", Op.EQ, ("books",)),),
    ),
    TaskDefinition(
        "invite-friends", "Invite friends", "friend.joined",
        (
            TaskTier(3, (Reward(RewardKind.COUPON, 1, "welcome-coupon"),)),
            TaskTier(10, (Reward(RewardKind.ITEM, 1, "gift-box"),)),
        ),
        measure=Measure.DISTINCT, distinct_attribute="friend",
    ),
    TaskDefinition(
        "play-together", "Play 5 mini-games this week; friends can help", "game.played",
        (TaskTier(5, _points(50)),), cadence=Cadence.WEEKLY,
        assists=AssistRule(per_friend_cap=1, per_task_cap=2, window=dt.timedelta(days=1)),
    ),
    BadgeDefinition(
        "big-spender", "Big spender", BadgeCriterion(CriterionKind.EVENT_SUM, "order.paid"),
        (BadgeTier("bronze", 10000), BadgeTier("silver", 50000), BadgeTier("gold", 200000)),
    ),
    BadgeDefinition(
        "regular", "Regular", BadgeCriterion(CriterionKind.STREAK_LENGTH),
        (BadgeTier("a week", 7, _points(70)), BadgeTier("a month", 30, _points(300))),
    ),
    BoostDefinition("wednesday", "Double points on Wednesdays", 200, weekdays=(3,)),
    CapDefinition("daily-points", "At most 1,000 points a day", CapKind.USER_PERIOD, 1000),
    CapDefinition(
        "order-velocity", "At most 30 orders a minute", CapKind.VELOCITY, 30,
        event_type="order.paid",
    ),
)  # fmt: skip


def demo_goal(now: dt.datetime) -> GoalDefinition:
    """A community goal: 1,000 check-ins together this month (UTC); whoever checked in at
    least 3 times shares each milestone's reward."""
    start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return GoalDefinition(
        f"check-ins-{start:%Y-%m}", "1,000 check-ins together this month", MetricKind.CHECK_IN,
        start, end,
        (
            GoalMilestone(250, _points(50)),
            GoalMilestone(500, (Reward(RewardKind.COUPON, 1, "community-5-off"),)),
            GoalMilestone(1000, (Reward(RewardKind.ITEM, 1, "community-banner"),)),
        ),
        min_contribution=3,
    )  # fmt: skip


DEMO_DUEL_TYPES = (
    DuelType(
        "order-pk", "Order duel: most orders in 24 hours", ("order.paid",), Measure.COUNT,
        window=dt.timedelta(hours=24), respond_within=dt.timedelta(hours=12),
        winner_rewards=_points(100), participation_rewards=_points(10),
        draw_rewards=_points(20), max_open_per_user=3,
    ),
)  # fmt: skip
