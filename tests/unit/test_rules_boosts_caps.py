"""Boosts and caps through the rules engine: when boosts apply and stack, what caps reject."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from service.domain.rewards import Reward, RewardKind
from service.domain.rules.boosts import multiplier_percent
from service.domain.rules.definitions import Level, LevelTable, TaskDefinition, TaskTier
from service.domain.rules.engine import evaluate_claim
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import (
    Counter,
    Effects,
    LevelUp,
    Outcome,
    Profile,
    Shared,
)
from service.domain.rules.windows import Cadence
from tests.support.rule_player import Player

UTC = dt.UTC
USER = "user-1"
NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"
# A Tuesday.
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def points(amount: int) -> Reward:
    return Reward(RewardKind.POINTS, amount)


def xp(amount: int) -> Reward:
    return Reward(RewardKind.XP, amount)


def task(task_id: str = "buy", *rewards: Reward, **changes: Any) -> TaskDefinition:
    """A task done at every purchase, without limit, for `rewards` (10 points by default)."""
    base = TaskDefinition(
        task_id=task_id,
        title=f"Task {task_id}",
        event_type="purchase",
        tiers=(TaskTier(1, rewards or (points(10),)),),
        repeatable=True,
        max_completions=0,
        version=2,
    )
    definition = replace(base, **changes)
    definition.validate()
    return definition


def boost(boost_id: str, percent: int, **changes: Any) -> BoostDefinition:
    definition = BoostDefinition(boost_id, boost_id.title(), percent, **changes)
    definition.validate()
    return definition


def cap(cap_id: str, kind: CapKind, limit: int, **changes: Any) -> CapDefinition:
    definition = CapDefinition(cap_id, cap_id.title(), kind, limit, **changes)
    definition.validate()
    return definition


def test_a_boost_applies_within_its_time_window() -> None:
    happy_hour = boost(
        "happy-hour", 200, starts_at=utc(2026, 3, 10, 18), ends_at=utc(2026, 3, 10, 20)
    )
    player = Player([task(), happy_hour])

    instants = (
        utc(2026, 3, 10, 17, 59),
        utc(2026, 3, 10, 18),
        utc(2026, 3, 10, 19, 59),
        utc(2026, 3, 10, 20),
    )
    assert [player.amounts(at=at) for at in instants] == [[10], [20], [20], [10]]


def test_a_weekday_boost_uses_the_users_weekday() -> None:
    weekend = boost("weekend", 150, weekdays=(6, 7))
    # Friday 15:30 UTC is Saturday 00:30 in Tokyo.
    friday_utc = utc(2026, 3, 13, 15, 30)
    assert Player([task(), weekend], Profile(USER, TOKYO)).amounts(at=friday_utc) == [15]
    assert Player([task(), weekend], Profile(USER)).amounts(at=friday_utc) == [10]
    assert Player([task(), weekend], Profile(USER, NEW_YORK)).amounts(at=utc(2026, 3, 15, 3)) == [
        15
    ]


@pytest.mark.parametrize(
    ("profile", "amount"),
    [
        (Profile(USER, level=5, segments=("vip",)), 30),
        (Profile(USER, level=7, segments=("new", "vip")), 30),
        (Profile(USER, level=4, segments=("vip",)), 10),
        (Profile(USER, level=5, segments=("new",)), 10),
    ],
)
def test_a_boost_for_an_audience(profile: Profile, amount: int) -> None:
    vip = boost("vip", 300, min_level=5, segments=("vip",))
    assert Player([task(), vip], profile).amounts() == [amount]


def test_a_boost_scoped_to_tasks_or_event_types() -> None:
    definitions: list[Definition] = [
        task("a"),
        task("b"),
        task("c", event_type="review"),
        boost("only-a", 200, task_ids=("a",)),
        boost("reviews", 300, event_types=("review",), stack_group="reviews"),
    ]
    player = Player(definitions)
    purchase = player.send()
    assert {g.reward.amount: g.idempotency_key.split(":")[1] for g in purchase.effects.grants} == {
        20: "a",
        10: "b",
    }
    assert player.amounts("review") == [30]


def test_the_nth_event_of_the_week_is_boosted_and_the_count_resets_next_week() -> None:
    third = boost("third-purchase", 300, event_types=("purchase",), nth_event=3)
    player = Player([task(), third])

    # Monday 9 March to Sunday 15 March, then Monday 16 March.
    week = [utc(2026, 3, day, 12) for day in (9, 10, 11, 15)]
    assert [player.amounts(at=at) for at in week] == [[10], [10], [30], [10]]
    assert player.state.counters["events:purchase:weekly"] == Counter(
        "events:purchase:weekly", "week-2026-03-09", 4
    )
    following = [utc(2026, 3, 16, hour) for hour in (1, 2, 3, 4)]
    assert [player.amounts(at=at) for at in following] == [[10], [10], [30], [10]]


def test_the_nth_event_counts_events_that_move_no_task() -> None:
    third = boost(
        "third-review", 300, event_types=("review",), nth_event=3, nth_period=Cadence.DAILY
    )
    player = Player([task(event_type="review", min_level=2), third])
    for _ in range(2):
        assert player.send("review").effects.grants == ()
    player.state = replace(player.state, profile=replace(player.state.profile, level=2))
    assert player.amounts("review") == [30]


@pytest.mark.parametrize(
    ("boosts", "amount"),
    [
        ((("a", 150, "promo"), ("b", 200, "promo")), 20),
        ((("a", 150, "promo"), ("b", 200, "weekend")), 30),
        ((("a", 150, ""), ("b", 200, "")), 20),
        ((("a", 150, "promo"), ("b", 200, "promo"), ("c", 150, "weekend")), 30),
        ((("a", 125, ""),), 12),
    ],
)
def test_boosts_stack_by_group(boosts: tuple[tuple[str, int, str], ...], amount: int) -> None:
    definitions = [boost(b, percent, stack_group=group) for b, percent, group in boosts]
    assert Player([task(), *definitions]).amounts() == [amount]


def test_multiplier_percent() -> None:
    assert multiplier_percent([]) == 100
    promo = [boost("a", 150, stack_group="x"), boost("b", 250, stack_group="x")]
    assert multiplier_percent(promo) == 250
    assert multiplier_percent([*promo, boost("c", 120, stack_group="y")]) == 300


def test_a_boost_multiplies_only_its_reward_kinds() -> None:
    rewards = (points(10), xp(10), Reward(RewardKind.COUPON, 1, "coupon-a"))
    xp_only = boost("double-xp", 200, reward_kinds=(RewardKind.XP,))
    outcome = Player([task("buy", *rewards), xp_only]).send()
    assert [(g.reward.kind, g.reward.amount) for g in outcome.effects.grants] == [
        (RewardKind.POINTS, 10),
        (RewardKind.XP, 20),
        (RewardKind.COUPON, 1),
    ]


def test_an_xp_boost_counts_towards_levels() -> None:
    table = LevelTable(levels=(Level(1, "One", 0), Level(2, "Two", 100)))
    double_xp = boost("double-xp", 200, reward_kinds=(RewardKind.XP,))
    boosted = Player([table, task("buy", xp(60)), double_xp]).send()
    assert (boosted.profile.xp, boosted.effects.level_ups) == (120, (LevelUp(2, "Two"),))
    plain = Player([table, task("buy", xp(60))]).send()
    assert (plain.profile.xp, plain.effects.level_ups) == (60, ())


def test_a_claim_grants_the_rewards_as_boosted_at_completion() -> None:
    happy_hour = boost("happy-hour", 200, ends_at=utc(2026, 3, 10, 13))
    player = Player([task(auto_claim=False), happy_hour])
    (completion,) = player.send(at=utc(2026, 3, 10, 12)).effects.completions
    claim = evaluate_claim([completion], player.state, player.rules, Shared(), utc(2026, 3, 11))
    assert [g.reward.amount for g in claim.effects.grants] == [20]


DAILY_POINTS = cap("daily-points", CapKind.USER_PERIOD, 100)


def test_a_daily_cap_rejects_the_event_whole_until_the_users_next_day() -> None:
    start = Profile(USER, NEW_YORK, xp=10)
    player = Player([task("buy", points(40), xp(5)), DAILY_POINTS], start)

    first = player.send(at=utc(2026, 3, 10, 14))
    assert first.counters == (Counter("cap:daily-points", "2026-03-10", 40),)
    player.send(at=utc(2026, 3, 10, 15))
    before = player.state

    # 23:30 on 10 March in New York: still the same day.
    rejected = player.send(at=utc(2026, 3, 11, 3, 30))
    assert rejected == Outcome(
        Effects(rejected="cap:daily-points: 80 + 40 points exceeds the daily limit of 100"),
        before.profile,
    )
    assert rejected.effects.rejected.startswith("cap:")
    assert player.state == before
    assert before.tasks["buy"].completions == 2

    # 00:30 on 11 March: a new day and a new counter.
    next_day = player.send(at=utc(2026, 3, 11, 4, 30))
    assert [g.reward.amount for g in next_day.effects.grants] == [40, 5]
    assert next_day.counters == (Counter("cap:daily-points", "2026-03-11", 40),)
    assert next_day.profile.xp == 25


def test_a_cap_counts_only_its_reward_kind() -> None:
    daily_xp = cap("daily-xp", CapKind.USER_PERIOD, 10, reward_kind=RewardKind.XP)
    player = Player([task("buy", points(500), xp(5)), daily_xp])
    assert player.send().counters == (Counter("cap:daily-xp", "2026-03-10", 5),)
    # Reaching the limit exactly is allowed; going past it is not.
    assert player.send().counters == (Counter("cap:daily-xp", "2026-03-10", 10),)
    assert player.send().effects.rejected == (
        "cap:daily-xp: 10 + 5 xp exceeds the daily limit of 10"
    )


def test_a_task_cap_and_a_total_cap_count_different_grants() -> None:
    per_task = cap("a-daily", CapKind.USER_PERIOD, 50, task_ids=("a",))
    total = cap("all-daily", CapKind.USER_PERIOD, 100)
    player = Player(
        [task("a", points(30)), task("b", points(30), event_type="review"), per_task, total]
    )

    assert player.send().counters == (
        Counter("cap:a-daily", "2026-03-10", 30),
        Counter("cap:all-daily", "2026-03-10", 30),
    )
    assert player.send("review").counters == (Counter("cap:all-daily", "2026-03-10", 60),)
    assert player.send().effects.rejected.startswith("cap:a-daily: 30 + 30 points")
    assert player.send("review").counters == (Counter("cap:all-daily", "2026-03-10", 90),)
    assert player.send("review").effects.rejected == (
        "cap:all-daily: 90 + 30 points exceeds the daily limit of 100"
    )


def test_a_weekly_cap_resets_on_monday() -> None:
    weekly = cap("weekly", CapKind.USER_PERIOD, 15, period=Cadence.WEEKLY)
    player = Player([task(), weekly])
    assert player.send(at=utc(2026, 3, 9)).effects.rejected == ""
    assert player.send(at=utc(2026, 3, 15, 23)).effects.rejected.startswith("cap:weekly")
    assert player.send(at=utc(2026, 3, 16)).counters == (
        Counter("cap:weekly", "week-2026-03-16", 10),
    )


BUDGET = cap("spring-budget", CapKind.BUDGET, 1000)


@pytest.mark.parametrize(
    ("budget_left", "rejected", "budgets"),
    [
        ({"spring-budget": 30}, "budget:spring-budget: campaign budget of 1000 exhausted", {}),
        ({"spring-budget": 40}, "", {"spring-budget": 40}),
        ({}, "", {"spring-budget": 40}),
        ({"other": 0}, "", {"spring-budget": 40}),
    ],
)
def test_a_budget_limits_what_all_users_receive(
    budget_left: dict[str, int], rejected: str, budgets: dict[str, int]
) -> None:
    player = Player([task("buy", points(40)), BUDGET], shared=Shared(budget_left=budget_left))
    outcome = player.send()
    assert outcome.effects.rejected == rejected
    assert outcome.budgets == budgets
    assert bool(outcome.effects.grants) is (not rejected)


def test_a_budget_for_some_tasks_ignores_the_others() -> None:
    scoped = cap("review-budget", CapKind.BUDGET, 5, task_ids=("review",))
    shared = Shared(budget_left={"review-budget": 0})
    outcome = Player([task("buy", points(40)), scoped], shared=shared).send()
    assert (outcome.effects.rejected, outcome.budgets) == ("", {})


def test_a_velocity_cap_rejects_too_many_events_a_minute() -> None:
    velocity = cap("purchase-rate", CapKind.VELOCITY, 5, event_type="purchase")
    player = Player([task(), velocity])

    assert player.send(recent={"purchase": 4}).effects.rejected == ""
    rejected = player.send(recent={"purchase": 5})
    assert rejected.effects.rejected == "velocity:purchase-rate: more than 5 purchase per minute"
    assert (rejected.tasks, rejected.counters, rejected.effects.grants) == ((), (), ())
    assert player.send("review", recent={"purchase": 9, "review": 0}).effects.rejected == ""
    assert player.rules.velocity_types == ("purchase",)


def test_a_claim_is_capped_too() -> None:
    player = Player([task("buy", points(40), auto_claim=False), DAILY_POINTS])
    completions = [c for _ in range(3) for c in player.send().effects.completions]
    assert player.state.counters == {}

    claim = evaluate_claim(completions, player.state, player.rules, Shared(), NOW)
    assert claim == Outcome(
        Effects(rejected="cap:daily-points: 0 + 120 points exceeds the daily limit of 100"),
        player.state.profile,
    )
    two = evaluate_claim(completions[:2], player.state, player.rules, Shared(), NOW)
    assert two.counters == (Counter("cap:daily-points", "2026-03-10", 80),)
    assert [c.run for c in two.effects.completions] == [1, 2]


def test_late_events_count_against_the_newest_days_allowance() -> None:
    player = Player([task(), cap("daily", CapKind.USER_PERIOD, 30)])
    days = [utc(2026, 3, 10, 12), utc(2026, 3, 9, 12), utc(2026, 3, 10, 13), utc(2026, 3, 9, 13)]
    rejected = [bool(player.send(at=at).effects.rejected) for at in days]
    assert rejected == [False, False, False, True]
