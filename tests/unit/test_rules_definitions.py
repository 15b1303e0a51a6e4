"""Validation of rule definitions: every malformed field is refused, naming the field."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Protocol

import pytest

from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    DEFAULT_LEVELS,
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Level,
    LevelTable,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.windows import Cadence

UTC = dt.UTC
POINTS = Reward(RewardKind.POINTS, 10)
ZERO_POINTS = Reward(RewardKind.POINTS, 0)
LONG = "x" * 2001


class Validated(Protocol):
    def validate(self) -> None: ...


def refused(definition: Validated) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        definition.validate()
    return raised.value


TASK = TaskDefinition(
    task_id="buy-books",
    title="Buy books",
    event_type="shop.purchase",
    tiers=(TaskTier(3, (POINTS,)), TaskTier(10, (POINTS,), badge_id="reader")),
    conditions=(Condition("attributes.category", Op.EQ, ("books",)),),
)
DAILY = replace(TASK, cadence=Cadence.DAILY, max_completions=0)


def test_a_valid_task_passes() -> None:
    TASK.validate()
    DAILY.validate()
    replace(
        DAILY,
        cadence=Cadence.DATE_RANGE,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 1),
        active_weekdays=(1, 7),
        week_start=7,
        prerequisites=("other",),
        min_level=1000,
        segments=("vip:gold",),
        rollout_percent=0,
        repeatable=True,
    ).validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task_id": ""}, "task_id"),
        ({"task_id": "Buy"}, "task_id"),
        ({"task_id": "x" * 65}, "task_id"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": LONG}, "description"),
        ({"event_type": "Purchase"}, "event_type"),
        ({"event_type": ""}, "event_type"),
        ({"conditions": (Condition("amount", Op.EQ, ("1",)),)}, "conditions[0].field"),
        ({"conditions": (Condition("value", Op.GT, ("x",)),) * 17}, "conditions"),
        ({"tiers": ()}, "tiers"),
        ({"tiers": tuple(TaskTier(n) for n in range(1, 22))}, "tiers"),
        ({"tiers": (TaskTier(0),)}, "tiers[0].target"),
        ({"tiers": (TaskTier(2**53 + 1),)}, "tiers[0].target"),
        ({"tiers": (TaskTier(3), TaskTier(3))}, "tiers[1].target"),
        ({"tiers": (TaskTier(3), TaskTier(2))}, "tiers[1].target"),
        ({"tiers": (TaskTier(1, (POINTS,) * 11),)}, "tiers[0].rewards"),
        ({"tiers": (TaskTier(1, (POINTS, ZERO_POINTS)),)}, "tiers[0].rewards[1].amount"),
        (
            {"tiers": (TaskTier(1, (Reward(RewardKind.COUPON, 1),)),)},
            "tiers[0].rewards[0].item_code",
        ),
        (
            {"tiers": (TaskTier(1, (Reward(RewardKind.POINTS, 1, "sku"),)),)},
            "tiers[0].rewards[0].item_code",
        ),
        ({"tiers": (TaskTier(1), TaskTier(2, badge_id="Reader"))}, "tiers[1].badge_id"),
        ({"week_start": 0}, "week_start"),
        ({"week_start": 8}, "week_start"),
        ({"active_weekdays": (0,)}, "active_weekdays"),
        ({"active_weekdays": (2, 2)}, "active_weekdays"),
        ({"cadence": Cadence.DATE_RANGE}, "starts_on"),
        ({"cadence": Cadence.DATE_RANGE, "starts_on": dt.date(2026, 3, 1)}, "ends_on"),
        ({"starts_on": dt.date(2026, 3, 2), "ends_on": dt.date(2026, 3, 1)}, "ends_on"),
        ({"max_completions": -1}, "max_completions"),
        ({"prerequisites": ("Bad",)}, "prerequisites[0]"),
        ({"prerequisites": tuple(f"t{n}" for n in range(33))}, "prerequisites"),
        ({"prerequisites": ("buy-books",)}, "prerequisites"),
        ({"min_level": -1}, "min_level"),
        ({"min_level": 1001}, "min_level"),
        ({"segments": ("a b",)}, "segments[0]"),
        ({"segments": tuple(f"s{n}" for n in range(33))}, "segments"),
        ({"rollout_percent": -1}, "rollout_percent"),
        ({"rollout_percent": 101}, "rollout_percent"),
    ],
)
def test_a_malformed_task_names_the_field(changes: dict[str, Any], field: str) -> None:
    assert refused(replace(DAILY, **changes)).field == field


@pytest.mark.parametrize("max_completions", [0, 1])
def test_a_task_done_once_takes_no_limit_above_one(max_completions: int) -> None:
    replace(TASK, max_completions=max_completions).validate()
    assert refused(replace(TASK, max_completions=2)).field == "max_completions"
    replace(TASK, max_completions=2, repeatable=True).validate()
    replace(DAILY, max_completions=2).validate()


def criterion(kind: CriterionKind, **fields: Any) -> BadgeCriterion:
    return BadgeCriterion(kind, **fields)


BADGE = BadgeDefinition(
    "big-spender",
    "Big spender",
    criterion(CriterionKind.EVENT_SUM, event_type="purchase"),
    (BadgeTier("Bronze", 100, (POINTS,)), BadgeTier("Silver", 500), BadgeTier("Gold", 1000)),
    available_from=dt.datetime(2026, 3, 1, tzinfo=UTC),
    available_until=dt.datetime(2026, 4, 1, tzinfo=UTC),
    supply=1000,
    secret=True,
)
RANK = replace(
    BADGE,
    criterion=criterion(CriterionKind.BOARD_RANK, board_id="weekly:sales"),
    tiers=(BadgeTier("Top 100", 100), BadgeTier("Top 10", 10), BadgeTier("Winner", 1)),
)
A_CONDITION = (Condition("value", Op.GE, ("1",)),)


def test_valid_badges_pass() -> None:
    BADGE.validate()
    RANK.validate()
    for kind in (CriterionKind.STREAK_LENGTH, CriterionKind.LEVEL_REACHED):
        replace(BADGE, criterion=criterion(kind)).validate()
    replace(BADGE, criterion=criterion(CriterionKind.TASK_COMPLETIONS, task_id="t")).validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"badge_id": "Big"}, "badge_id"),
        ({"title": ""}, "title"),
        ({"description": LONG}, "description"),
        ({"criterion": criterion(CriterionKind.EVENT_COUNT)}, "criterion.event_type"),
        (
            {
                "criterion": criterion(
                    CriterionKind.EVENT_COUNT,
                    event_type="review",
                    conditions=(Condition("value", Op.IN, ()),),
                )
            },
            "criterion.conditions[0].operands",
        ),
        (
            {"criterion": criterion(CriterionKind.STREAK_LENGTH, event_type="check-in")},
            "criterion.event_type",
        ),
        (
            {"criterion": criterion(CriterionKind.LEVEL_REACHED, conditions=A_CONDITION)},
            "criterion.conditions",
        ),
        ({"criterion": criterion(CriterionKind.TASK_COMPLETIONS)}, "criterion.task_id"),
        (
            {"criterion": criterion(CriterionKind.TASK_COMPLETIONS, task_id="Bad Id")},
            "criterion.task_id",
        ),
        (
            {"criterion": criterion(CriterionKind.STREAK_LENGTH, task_id="t")},
            "criterion.task_id",
        ),
        ({"criterion": criterion(CriterionKind.BOARD_RANK)}, "criterion.board_id"),
        (
            {"criterion": criterion(CriterionKind.EVENT_SUM, event_type="x", board_id="b")},
            "criterion.board_id",
        ),
        ({"tiers": ()}, "tiers"),
        ({"tiers": tuple(BadgeTier(f"T{n}", n) for n in range(1, 22))}, "tiers"),
        ({"tiers": (BadgeTier("", 1),)}, "tiers[0].name"),
        ({"tiers": (BadgeTier("x" * 65, 1),)}, "tiers[0].name"),
        ({"tiers": (BadgeTier("Bronze", 0),)}, "tiers[0].threshold"),
        ({"tiers": (BadgeTier("Bronze", 5), BadgeTier("Silver", 5))}, "tiers[1].threshold"),
        ({"tiers": (BadgeTier("Bronze", 5), BadgeTier("Silver", 4))}, "tiers[1].threshold"),
        ({"tiers": (BadgeTier("Bronze", 2**53 + 1),)}, "tiers[0].threshold"),
        ({"tiers": (BadgeTier("Bronze", 1, (ZERO_POINTS,)),)}, "tiers[0].rewards[0].amount"),
        ({"available_until": dt.datetime(2026, 3, 1, tzinfo=UTC)}, "available_until"),
        ({"supply": -1}, "supply"),
    ],
)
def test_a_malformed_badge_names_the_field(changes: dict[str, Any], field: str) -> None:
    assert refused(replace(BADGE, **changes)).field == field


def test_board_rank_thresholds_must_fall() -> None:
    rising = (BadgeTier("Top 10", 10), BadgeTier("Top 100", 100))
    error = refused(replace(RANK, tiers=rising))
    assert (error.field, error.rule) == (
        "tiers[1].threshold",
        "must be positive and fall tier by tier",
    )


def test_valid_level_tables_pass() -> None:
    DEFAULT_LEVELS.validate()
    LevelTable(levels=(Level(1, "One", 0), Level(2, "Two", 1, (POINTS,)))).validate()
    LevelTable(base_xp=100, exponent=1.5, max_level=1000).validate()
    LevelTable(base_xp=10, exponent=0.5, max_level=10).validate()


LISTED = LevelTable(levels=(Level(1, "One", 0), Level(2, "Two", 100), Level(3, "Three", 300)))
FORMULA = LevelTable(base_xp=100, exponent=2, max_level=50)


@pytest.mark.parametrize(
    ("table", "field"),
    [
        (replace(LISTED, base_xp=100), "levels"),
        (replace(LISTED, max_level=3), "levels"),
        (LevelTable(levels=tuple(Level(n, "L", n - 1) for n in range(1, 1002))), "levels"),
        (LevelTable(levels=(Level(2, "One", 0),)), "levels[0].level"),
        (LevelTable(levels=(Level(1, "One", 0), Level(3, "Two", 5))), "levels[1].level"),
        (LevelTable(levels=(Level(1, "", 0),)), "levels[0].name"),
        (LevelTable(levels=(Level(1, "x" * 65, 0),)), "levels[0].name"),
        (LevelTable(levels=(Level(1, "One", 10),)), "levels[0].xp"),
        (LevelTable(levels=(Level(1, "One", 0), Level(2, "Two", 0))), "levels[1].xp"),
        (replace(LISTED, levels=(*LISTED.levels[:2], Level(3, "Three", 50))), "levels[2].xp"),
        (LevelTable(levels=(Level(1, "One", 0, (ZERO_POINTS,)),)), "levels[0].rewards[0].amount"),
        (replace(FORMULA, base_xp=0), "base_xp"),
        (replace(FORMULA, base_xp=2**53 + 1), "base_xp"),
        (replace(FORMULA, exponent=0.4), "exponent"),
        (replace(FORMULA, exponent=4.1), "exponent"),
        (replace(FORMULA, max_level=1), "max_level"),
        (replace(FORMULA, max_level=1001), "max_level"),
        (LevelTable(base_xp=10**12, exponent=4, max_level=1000), "max_level"),
        # 1 * sqrt(1) and 1 * sqrt(2) both round to 1 XP: level 2 could never be held.
        (LevelTable(base_xp=1, exponent=0.5, max_level=10), "base_xp"),
    ],
)
def test_a_malformed_level_table_names_the_field(table: LevelTable, field: str) -> None:
    assert refused(table).field == field


BOOST = BoostDefinition(
    "weekend-double",
    "Weekend double",
    200,
    reward_kinds=(RewardKind.POINTS, RewardKind.XP),
    starts_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
    ends_at=dt.datetime(2026, 4, 1, tzinfo=UTC),
    weekdays=(6, 7),
    event_types=("purchase",),
    task_ids=("buy-books",),
    nth_event=3,
    stack_group="weekend",
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"boost_id": "Double"}, "boost_id"),
        ({"title": ""}, "title"),
        ({"multiplier_percent": 100}, "multiplier_percent"),
        ({"multiplier_percent": 10_001}, "multiplier_percent"),
        ({"reward_kinds": ()}, "reward_kinds"),
        ({"reward_kinds": (RewardKind.COUPON,)}, "reward_kinds"),
        ({"ends_at": dt.datetime(2026, 3, 1, tzinfo=UTC)}, "ends_at"),
        ({"weekdays": (8,)}, "weekdays"),
        ({"min_level": 1001}, "min_level"),
        ({"segments": ("",)}, "segments[0]"),
        ({"event_types": ("purchase", "Review")}, "event_types[1]"),
        ({"task_ids": ("Bad",)}, "task_ids[0]"),
        ({"nth_event": -1}, "nth_event"),
        ({"event_types": ()}, "event_types"),
        ({"event_types": ("purchase", "review")}, "event_types"),
        ({"nth_period": Cadence.ONCE}, "nth_period"),
        ({"nth_period": Cadence.DATE_RANGE}, "nth_period"),
        ({"stack_group": "x" * 65}, "stack_group"),
    ],
)
def test_a_malformed_boost_names_the_field(changes: dict[str, Any], field: str) -> None:
    BOOST.validate()
    assert refused(replace(BOOST, **changes)).field == field


CAP = CapDefinition("daily-points", "Daily points", CapKind.USER_PERIOD, 500, task_ids=("a",))
VELOCITY = CapDefinition("rate", "Rate", CapKind.VELOCITY, 10, event_type="purchase")


@pytest.mark.parametrize(
    ("cap", "field"),
    [
        (replace(CAP, cap_id="Daily"), "cap_id"),
        (replace(CAP, title=""), "title"),
        (replace(CAP, limit=0), "limit"),
        (replace(CAP, limit=2**53 + 1), "limit"),
        (replace(VELOCITY, event_type=""), "event_type"),
        (replace(VELOCITY, task_ids=("a",)), "task_ids"),
        (replace(CAP, event_type="purchase"), "event_type"),
        (replace(CAP, kind=CapKind.BUDGET, event_type="purchase"), "event_type"),
        (replace(CAP, reward_kind=RewardKind.COUPON), "reward_kind"),
        (replace(CAP, period=Cadence.ONCE), "period"),
        (replace(CAP, task_ids=("A",)), "task_ids[0]"),
        (replace(CAP, task_ids=tuple(f"t{n}" for n in range(33))), "task_ids"),
    ],
)
def test_a_malformed_cap_names_the_field(cap: CapDefinition, field: str) -> None:
    CAP.validate()
    VELOCITY.validate()
    replace(CAP, kind=CapKind.BUDGET, period=Cadence.ONCE).validate()
    assert refused(cap).field == field


def test_a_rule_set_indexes_live_definitions() -> None:
    archived = replace(TASK, task_id="old", archived=True)
    review = replace(TASK, task_id="review", event_type="review")
    completions = replace(
        BADGE,
        badge_id="finisher",
        criterion=criterion(CriterionKind.TASK_COMPLETIONS, task_id="buy-books"),
    )
    rank = replace(RANK, badge_id="champion")
    rules = RuleSet.of(
        [TASK, archived, review, BADGE, completions, rank, FORMULA, BOOST, VELOCITY, CAP]
    )

    assert set(rules.tasks) == {"buy-books", "review"}
    assert rules.tasks_by_event == {"shop.purchase": (TASK,), "review": (review,)}
    assert rules.badges_by_event == {"purchase": (BADGE,)}
    assert rules.badges_by_task == {"buy-books": (completions,)}
    assert rules.badges_by_kind[CriterionKind.BOARD_RANK] == (rank,)
    assert set(rules.badges) == {"big-spender", "finisher", "champion"}
    assert rules.levels is FORMULA
    assert rules.boosts == (BOOST,)
    assert rules.caps == (VELOCITY, CAP)
    assert rules.velocity_types == ("purchase",)
    assert RuleSet.of([]).levels is DEFAULT_LEVELS
