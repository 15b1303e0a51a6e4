"""Hard limits: an event's value, the boost multiplier and each grant's amount are bounded."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.rewards import Reward, RewardKind
from service.domain.rules.boosts import multiplier_percent
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Measure,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.engine import evaluate_claim
from service.domain.rules.limits import (
    DEFAULT_MAX_EVENT_VALUE,
    DEFAULT_MAX_GRANTS,
    MAX_BOOST_PERCENT,
    MAX_TOTAL,
    Limits,
)
from service.domain.rules.modifiers import BoostDefinition
from service.domain.rules.state import Profile, Shared
from tests.support.rule_player import NOW, USER, Player

BILLION = 1_000_000_000


def _task(*rewards: Reward, measure: Measure = Measure.COUNT, target: int = 1) -> TaskDefinition:
    return TaskDefinition(
        "buy", "Buy", "purchase", (TaskTier(target, rewards),), measure=measure,
        repeatable=True,
    )  # fmt: skip


def _boosts(count: int, percent: int = 10_000) -> list[BoostDefinition]:
    """`count` boosts in stack groups of their own, so that they all multiply."""
    return [BoostDefinition(f"b{n}", f"B{n}", percent, stack_group=f"g{n}") for n in range(count)]


def _spend_badge() -> BadgeDefinition:
    tiers = tuple(BadgeTier(name, threshold) for name, threshold in (("a", 10), ("b", 10**12)))
    criterion = BadgeCriterion(CriterionKind.EVENT_SUM, "purchase")
    return BadgeDefinition("spender", "Spender", criterion, tiers)


def test_stacked_multipliers_are_bounded() -> None:
    assert multiplier_percent(_boosts(5)) == MAX_BOOST_PERCENT
    assert multiplier_percent(_boosts(2, 200)) == 400  # below the bound, they still multiply


def test_five_stacked_boosts_pay_at_most_the_maximum_grant() -> None:
    player = Player([_task(Reward(RewardKind.POINTS, BILLION)), *_boosts(5)])
    assert player.amounts() == [DEFAULT_MAX_GRANTS[RewardKind.POINTS]]


def test_a_higher_maximum_grant_lets_the_bounded_multiplier_through() -> None:
    limits = Limits.of(DEFAULT_MAX_EVENT_VALUE, {"points": 10**12})
    player = Player([_task(Reward(RewardKind.POINTS, BILLION)), *_boosts(5)], limits=limits)
    assert player.amounts() == [BILLION * MAX_BOOST_PERCENT // 100]


def test_every_kind_is_capped_and_the_completion_records_what_was_granted() -> None:
    rewards = (Reward(RewardKind.COUPON, 5000, "c"), Reward(RewardKind.XP, 30))
    limits = Limits.of(DEFAULT_MAX_EVENT_VALUE, {"xp": 20})
    outcome = Player([_task(*rewards)], limits=limits).send()
    granted = [g.reward for g in outcome.effects.grants]
    assert granted == [Reward(RewardKind.COUPON, 1000, "c"), Reward(RewardKind.XP, 20)]
    assert outcome.effects.completions[0].rewards == tuple(granted)
    assert outcome.profile.xp == 20


def test_limits_keep_the_default_of_a_kind_left_out() -> None:
    limits = Limits.of(50, {"coupon": 2})
    assert limits.max_event_value == 50
    assert limits.max_grants == {**DEFAULT_MAX_GRANTS, RewardKind.COUPON: 2}


def test_a_claim_pays_at_most_the_maximum_grant() -> None:
    player = Player([dataclasses.replace(_task(Reward(RewardKind.POINTS, 10)), auto_claim=False)])
    (completion,) = player.send().effects.completions
    huge = dataclasses.replace(completion, rewards=(Reward(RewardKind.POINTS, 10**15),))
    claim = evaluate_claim([huge], player.state, player.rules, Shared(), NOW)
    assert [g.reward.amount for g in claim.effects.grants] == [BILLION]


@pytest.mark.parametrize("value", [BILLION + 1, -BILLION - 1, 10**15])
def test_an_event_beyond_the_maximum_value_is_rejected_whole(value: int) -> None:
    player = Player([_task(Reward(RewardKind.POINTS, 5), measure=Measure.SUM), _spend_badge()])
    outcome = player.send(value=value)
    assert outcome.effects.rejected == (
        f"value: {value} is beyond the maximum event value of {BILLION}"
    )
    assert (outcome.effects.grants, outcome.tasks, outcome.badges) == ((), (), ())
    assert player.state.tasks == {}
    assert player.state.badges == {}


def test_an_event_at_the_maximum_value_counts() -> None:
    player = Player([_task(Reward(RewardKind.POINTS, 5), measure=Measure.SUM), _spend_badge()])
    outcome = player.send(value=BILLION)
    assert not outcome.effects.rejected
    assert [b.tier for b in outcome.badges] == [1]


def test_xp_and_progress_saturate_below_int64() -> None:
    limits = Limits(max_event_value=MAX_TOTAL)
    xp_task = dataclasses.replace(
        _task(Reward(RewardKind.XP, BILLION), measure=Measure.SUM, target=MAX_TOTAL),
        repeatable=False,
    )
    player = Player([xp_task, _spend_badge()], Profile(USER, xp=MAX_TOTAL - 1), limits=limits)
    player.send(value=MAX_TOTAL - 1)
    outcome = player.send(value=MAX_TOTAL)
    assert outcome.profile.xp == MAX_TOTAL
    assert player.state.badges["spender"].progress == MAX_TOTAL
    assert outcome.effects.task_changes[0].progress == MAX_TOTAL
    assert [g.reward.amount for g in outcome.effects.grants] == [BILLION]
