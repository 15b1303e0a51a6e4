"""Badges and levels through the rules engine: criteria, tiers, supply, availability, XP."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from service.domain.rewards import Grant, Reward, RewardKind
from service.domain.rules import levels
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Level,
    LevelTable,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.state import (
    BadgeState,
    BadgeUnlock,
    Effects,
    LevelUp,
    Outcome,
    Shared,
)
from service.domain.rules.windows import Cadence
from tests.support.rule_player import Player

UTC = dt.UTC
USER = "user-1"
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)


def points(amount: int) -> Reward:
    return Reward(RewardKind.POINTS, amount)


def xp(amount: int) -> Reward:
    return Reward(RewardKind.XP, amount)


def badge(
    badge_id: str, criterion: BadgeCriterion, *tiers: BadgeTier, **changes: Any
) -> BadgeDefinition:
    definition = replace(
        BadgeDefinition(badge_id, badge_id.title(), criterion, tiers, version=4), **changes
    )
    definition.validate()
    return definition


def on_events(event_type: str, *conditions: Condition, total: bool = False) -> BadgeCriterion:
    kind = CriterionKind.EVENT_SUM if total else CriterionKind.EVENT_COUNT
    return BadgeCriterion(kind, event_type=event_type, conditions=conditions)


RISING = (BadgeTier("Bronze", 1), BadgeTier("Silver", 3), BadgeTier("Gold", 5))


def unlocked(outcome: Outcome) -> list[tuple[str, int, str]]:
    return [(u.badge_id, u.tier, u.tier_name) for u in outcome.effects.badges]


def test_an_event_count_badge_counts_matching_events() -> None:
    critic = badge(
        "critic", on_events("review", Condition("attributes.stars", Op.GE, ("4",))), *RISING
    )
    player = Player([critic])

    assert unlocked(player.send("review", stars="5")) == [("critic", 1, "Bronze")]
    ignored = [player.send("review", stars="2"), player.send("review"), player.send(stars="5")]
    assert all(o.effects == Effects() and o.badges == () for o in ignored)
    assert unlocked(player.send("review", stars="4")) == []
    assert unlocked(player.send("review", stars="4.5")) == [("critic", 2, "Silver")]
    assert player.state.badges["critic"] == BadgeState(USER, "critic", 4, 3, 2, NOW)


SPENDER = badge(
    "spender",
    on_events("purchase", total=True),
    BadgeTier("Bronze", 100, (points(10),)),
    BadgeTier("Silver", 500, (points(50),)),
    BadgeTier("Gold", 1000, (points(100),)),
)


def test_one_big_event_earns_several_tiers_in_order() -> None:
    player = Player([SPENDER])

    outcome = player.send(value=600)

    assert outcome.effects.badges == (
        BadgeUnlock("spender", 4, 1, "Bronze"),
        BadgeUnlock("spender", 4, 2, "Silver"),
    )
    assert outcome.effects.grants == (
        Grant("badge:spender:user-1:tier-1:0", USER, points(10), "Spender: Bronze", "badge",
              "badge:spender/event:e1", 4),
        Grant("badge:spender:user-1:tier-2:0", USER, points(50), "Spender: Silver", "badge",
              "badge:spender/event:e1", 4),
    )  # fmt: skip
    assert outcome.badges == (BadgeState(USER, "spender", 4, 600, 2, NOW),)

    later = NOW + dt.timedelta(days=1)
    assert unlocked(player.send(value=300, at=later)) == []
    assert unlocked(player.send(value=-50, at=later)) == []
    assert player.state.badges["spender"].progress == 900
    gold = player.send(value=100, at=later)
    assert unlocked(gold) == [("spender", 3, "Gold")]
    # The badge was earned with its first tier.
    assert gold.badges[0].earned_at == NOW


def test_a_badge_moves_only_while_it_is_available() -> None:
    limited_time = badge(
        "spring",
        on_events("purchase"),
        *RISING,
        available_from=dt.datetime(2026, 3, 10, tzinfo=UTC),
        available_until=dt.datetime(2026, 3, 17, tzinfo=UTC),
    )
    player = Player([limited_time])

    before = player.send(at=dt.datetime(2026, 3, 9, 23, 59, tzinfo=UTC))
    assert before.badges == ()
    opening = player.send(at=dt.datetime(2026, 3, 10, tzinfo=UTC))
    assert unlocked(opening) == [("spring", 1, "Bronze")]
    closing = player.send(at=dt.datetime(2026, 3, 17, tzinfo=UTC))
    assert closing.badges == ()
    assert player.state.badges["spring"].progress == 1


LIMITED = badge(
    "founder", on_events("purchase"), BadgeTier("Founder", 1), BadgeTier("Patron", 2), supply=100
)


def test_no_supply_left_blocks_the_first_tier() -> None:
    player = Player([LIMITED], shared=Shared(supply_left={"founder": 0}))

    outcome = player.send(value=5)
    assert outcome.effects.badges == ()
    assert outcome.supply == ()
    assert outcome.badges == (BadgeState(USER, "founder", 4, 1, 0, None),)
    # A second event, still without supply, earns nothing either.
    assert player.send().effects.badges == ()


@pytest.mark.parametrize("shared", [Shared(), Shared(supply_left={"founder": 3})])
def test_the_outcome_names_the_supply_it_takes(shared: Shared) -> None:
    player = Player([LIMITED], shared=shared)
    first = player.send()
    assert unlocked(first) == [("founder", 1, "Founder")]
    assert first.supply == ("founder",)
    second = player.send()
    assert unlocked(second) == [("founder", 2, "Patron")]
    assert second.supply == ()


def test_a_holder_climbs_tiers_when_the_supply_is_gone() -> None:
    player = Player([LIMITED], shared=Shared(supply_left={"founder": 0}))
    player.state = replace(
        player.state, badges={"founder": BadgeState(USER, "founder", 4, 1, 1, NOW)}
    )
    outcome = player.send()
    assert unlocked(outcome) == [("founder", 2, "Patron")]
    assert outcome.supply == ()


def test_an_unlimited_badge_names_no_supply() -> None:
    player = Player([replace(LIMITED, supply=0)], shared=Shared(supply_left={"founder": 0}))
    outcome = player.send()
    assert unlocked(outcome) == [("founder", 1, "Founder")]
    assert outcome.supply == ()


def test_a_secret_badge_is_earned_like_any_other() -> None:
    outcomes = [
        Player([replace(SPENDER, secret=secret)]).send(value=500) for secret in (False, True)
    ]
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0].effects.badges) == 2


def test_a_task_completions_badge_counts_completed_runs() -> None:
    buy_daily = TaskDefinition(
        "daily-buy", "Buy daily", "purchase", (TaskTier(1), TaskTier(2)),
        cadence=Cadence.DAILY, max_completions=0,
    )  # fmt: skip
    regular = badge(
        "regular",
        BadgeCriterion(CriterionKind.TASK_COMPLETIONS, task_id="daily-buy"),
        BadgeTier("Regular", 1),
        BadgeTier("Loyal", 3),
    )
    player = Player([buy_daily, regular])

    by_day = []
    for day in range(3):
        at = NOW + dt.timedelta(days=day)
        by_day.append([unlocked(player.send(at=at)), unlocked(player.send(at=at))])
    # Only the last tier completes the task and moves the badge.
    assert by_day == [
        [[], [("regular", 1, "Regular")]],
        [[], []],
        [[], [("regular", 2, "Loyal")]],
    ]
    assert player.state.badges["regular"].progress == 3


LEVELS = LevelTable(
    levels=(
        Level(1, "Bronze", 0),
        Level(2, "Silver", 100, (xp(250),)),
        Level(3, "Gold", 300),
        Level(4, "Platinum", 600, (points(40),)),
    ),
    version=6,
)


def xp_task(amount: int) -> TaskDefinition:
    return TaskDefinition(
        "xp", "XP", "purchase", (TaskTier(1, (xp(amount),)),), max_completions=0, repeatable=True
    )


def test_one_event_can_pass_several_levels_with_their_rewards() -> None:
    player = Player([LEVELS, xp_task(700)])

    outcome = player.send()

    assert outcome.effects.level_ups == (
        LevelUp(2, "Silver"),
        LevelUp(3, "Gold"),
        LevelUp(4, "Platinum"),
    )
    # 700 XP from the task and 250 from reaching Silver.
    assert (outcome.profile.xp, outcome.profile.level) == (950, 4)
    assert outcome.effects.grants[1:] == (
        Grant("level:user-1:2:0", USER, xp(250), "reached Silver", "level",
              "level:default/event:e1", 6),
        Grant("level:user-1:4:0", USER, points(40), "reached Platinum", "level",
              "level:default/event:e1", 6),
    )  # fmt: skip


def test_xp_from_a_level_reward_can_reach_the_next_level() -> None:
    player = Player([LEVELS, xp_task(150)])

    outcome = player.send()

    # 150 XP reaches Silver, whose 250 XP reach Gold (300).
    assert outcome.effects.level_ups == (LevelUp(2, "Silver"), LevelUp(3, "Gold"))
    assert (outcome.profile.xp, outcome.profile.level) == (400, 3)
    assert player.send().effects.level_ups == ()  # 550 XP: still Gold


def test_a_level_reached_badge_follows_xp_rewards() -> None:
    climber = badge(
        "climber",
        BadgeCriterion(CriterionKind.LEVEL_REACHED),
        BadgeTier("Climber", 3, (points(5),)),
        BadgeTier("Summit", 4),
    )
    player = Player([LEVELS, xp_task(60), climber])

    assert unlocked(player.send()) == []
    assert player.state.profile.level == 1
    second = player.send()  # 120 XP: Silver, and its 250 XP reach Gold
    assert unlocked(second) == [("climber", 1, "Climber")]
    assert "badge:climber:user-1:tier-1:0" in [g.idempotency_key for g in second.effects.grants]
    assert player.state.badges["climber"].progress == 3


def test_a_streak_badge_moves_with_the_measured_streak() -> None:
    streaker = badge(
        "streaker",
        BadgeCriterion(CriterionKind.STREAK_LENGTH),
        BadgeTier("Week", 7, (points(70),)),
        BadgeTier("Month", 30),
    )
    player = Player([streaker])

    assert player.measure(CriterionKind.STREAK_LENGTH, 6, "streak:a").effects.badges == ()
    week = player.measure(CriterionKind.STREAK_LENGTH, 10, "streak:b")
    assert unlocked(week) == [("streaker", 1, "Week")]
    assert week.effects.grants == (
        Grant("badge:streaker:user-1:tier-1:0", USER, points(70), "Streaker: Week", "badge",
              "badge:streaker/streak:b", 4),
    )  # fmt: skip
    assert unlocked(player.measure(CriterionKind.STREAK_LENGTH, 31, "streak:c")) == [
        ("streaker", 2, "Month")
    ]
    broken = player.measure(CriterionKind.STREAK_LENGTH, 1, "streak:d")
    assert broken.effects.badges == ()
    assert player.state.badges["streaker"].tier == 2
    # A measure of another kind leaves the streak badge alone.
    assert player.measure(CriterionKind.BOARD_RANK, 50, "x").badges == ()
    assert player.state.badges["streaker"].progress == 1


def test_a_lower_board_rank_earns_more_tiers() -> None:
    champion = badge(
        "champion",
        BadgeCriterion(CriterionKind.BOARD_RANK, board_id="weekly-sales"),
        BadgeTier("Top 100", 100),
        BadgeTier("Top 10", 10),
        BadgeTier("Winner", 1, (points(1000),)),
    )
    player = Player([champion])

    def rank(measure: int, board_id: str = "weekly-sales") -> list[tuple[str, int, str]]:
        return unlocked(player.measure(CriterionKind.BOARD_RANK, measure, "final", board_id))

    assert rank(150) == []
    assert rank(3, "daily-sales") == []
    assert rank(5) == [("champion", 1, "Top 100"), ("champion", 2, "Top 10")]
    assert rank(40) == []
    assert player.state.badges["champion"].progress == 5  # the best rank so far
    assert rank(1) == [("champion", 3, "Winner")]
    assert player.state.badges["champion"] == BadgeState(USER, "champion", 4, 1, 3, NOW)


def test_the_level_table_expands_a_formula() -> None:
    square = LevelTable(base_xp=100, exponent=2, max_level=5)
    assert square.table() == tuple(
        Level(n, f"Level {n}", xp) for n, xp in enumerate((0, 100, 400, 900, 1600), start=1)
    )
    # 100 * 2^1.5 = 282.8 and 100 * 3^1.5 = 519.6, rounded.
    assert [level.xp for level in LevelTable(base_xp=100, exponent=1.5, max_level=4).table()] == [
        0, 100, 283, 520,
    ]  # fmt: skip
    assert LEVELS.table() == LEVELS.levels


def test_level_for_and_levels_between() -> None:
    assert [levels.level_for(x, LEVELS).level for x in (0, 99, 100, 299, 300, 10**9)] == [
        1, 1, 2, 2, 3, 4,
    ]  # fmt: skip
    assert [level.level for level in levels.levels_between(1, 3, LEVELS)] == [2, 3]
    assert levels.levels_between(3, 3, LEVELS) == ()


@pytest.mark.parametrize(
    ("xp_total", "table", "level", "following", "to_next", "percent"),
    [
        (0, LEVELS, 1, 2, 100, 0.0),
        (150, LEVELS, 2, 3, 150, 25.0),
        (299, LEVELS, 2, 3, 1, 99.5),
        (700, LEVELS, 4, None, 0, 100.0),
        (250, LevelTable(base_xp=100, exponent=2, max_level=5), 2, 3, 150, 50.0),
        (1, LevelTable(base_xp=3, exponent=1, max_level=5), 1, 2, 2, 33.33),
    ],
)
def test_progress_to_the_next_level(
    xp_total: int,
    table: LevelTable,
    level: int,
    following: int | None,
    to_next: int,
    percent: float,
) -> None:
    progress = levels.progress(xp_total, table)
    assert progress.level.level == level
    assert (progress.next_level.level if progress.next_level else None) == following
    assert progress.xp_to_next_level == to_next
    assert progress.progress_percent == percent
