"""Definitions of every kind with every field set, for tests of their translations."""

from __future__ import annotations

import datetime as dt

from service.domain.rewards import Reward, RewardKind
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

AT = dt.datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=dt.UTC)
COIN = Reward(RewardKind.POINTS, 50)
COUPON = Reward(RewardKind.COUPON, 1, "free-coffee")

TASK = TaskDefinition(
    task_id="buy-books",
    title="Buy three books",
    description="Any books, any shop.",
    event_type="order.paid",
    tiers=(TaskTier(1, (COIN,)), TaskTier(3, (COIN, COUPON), badge_id="reader")),
    measure=Measure.SUM,
    conditions=(
        Condition("attributes.category", Op.IN, ("books", "comics")),
        Condition("value", Op.GE, ("100",)),
        Condition("attributes.gift", Op.EXISTS),
    ),
    cadence=Cadence.DATE_RANGE,
    week_start=7,
    active_weekdays=(6, 7),
    starts_on=dt.date(2026, 12, 1),
    ends_on=dt.date(2026, 12, 24),
    repeatable=True,
    max_completions=0,
    prerequisites=("first-login",),
    min_level=3,
    segments=("vip", "beta:eu"),
    rollout_percent=0,
    auto_claim=False,
)
BADGE = BadgeDefinition(
    badge_id="reader",
    title="Reader",
    description="Bought books.",
    criterion=BadgeCriterion(
        CriterionKind.EVENT_SUM,
        event_type="order.paid",
        conditions=(Condition("attributes.category", Op.EQ, ("books",)),),
    ),
    tiers=(BadgeTier("bronze", 10, (COIN,)), BadgeTier("gold", 100)),
    available_from=AT,
    available_until=AT + dt.timedelta(days=30),
    supply=1000,
    secret=True,
)
RANK_BADGE = BadgeDefinition(
    "champion",
    "Champion",
    BadgeCriterion(CriterionKind.BOARD_RANK, board_id="weekly-xp"),
    (BadgeTier("top-10", 10), BadgeTier("winner", 1)),
)
LEVELS = LevelTable(
    levels=(Level(1, "Rookie", 0), Level(2, "Regular", 100, (COUPON,)), Level(3, "Pro", 250))
)
FORMULA = LevelTable(base_xp=100, exponent=1.5, max_level=50)
BOOST = BoostDefinition(
    boost_id="weekend",
    title="Weekend double",
    multiplier_percent=200,
    reward_kinds=(RewardKind.POINTS, RewardKind.XP),
    starts_at=AT,
    ends_at=AT + dt.timedelta(days=2),
    weekdays=(6, 7),
    min_level=2,
    segments=("vip",),
    event_types=("order.paid",),
    task_ids=("buy-books",),
    nth_event=3,
    nth_period=Cadence.MONTHLY,
    stack_group="seasonal",
)
CAPS = (
    CapDefinition(
        "daily-points", "Daily points", CapKind.USER_PERIOD, 500, RewardKind.XP, Cadence.WEEKLY,
        task_ids=("buy-books",),
    ),
    CapDefinition("campaign", "Campaign budget", CapKind.BUDGET, 1_000_000),
    CapDefinition("spam", "Spam guard", CapKind.VELOCITY, 30, event_type="review.posted"),
)  # fmt: skip
DEFINITIONS: tuple[Definition, ...] = (TASK, BADGE, RANK_BADGE, LEVELS, FORMULA, BOOST, *CAPS)
