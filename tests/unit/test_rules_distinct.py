"""Distinct measures: tasks and badges that count different values of an attribute."""

from __future__ import annotations

from dataclasses import replace

import pytest

from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Measure,
    TaskDefinition,
    TaskTier,
)
from tests.support.rule_player import Player

COUPON = Reward(RewardKind.COUPON, 1, "5-off")
GIFT = Reward(RewardKind.ITEM, 1, "gift")


def invite_task(**changes: object) -> TaskDefinition:
    """Invite 3 friends: a coupon; 10: a gift (different friends, by the friend attribute)."""
    task = TaskDefinition(
        task_id="invite", title="Invite friends", event_type="friend.joined",
        tiers=(TaskTier(3, (COUPON,)), TaskTier(10, (GIFT,))), measure=Measure.DISTINCT,
        distinct_attribute="friend",
    )  # fmt: skip
    task = replace(task, **changes)  # type: ignore[arg-type]
    task.validate()
    return task


def friends_badge(*thresholds: int) -> BadgeDefinition:
    badge = BadgeDefinition(
        "social", "Social",
        BadgeCriterion(CriterionKind.EVENT_DISTINCT, "friend.joined", distinct_attribute="friend"),
        tuple(BadgeTier(f"tier-{n}", t) for n, t in enumerate(thresholds, 1)),
    )  # fmt: skip
    badge.validate()
    return badge


def test_the_same_friend_seven_times_counts_once() -> None:
    player = Player([invite_task()])

    first = player.send("friend.joined", friend="f1")
    repeats = [player.send("friend.joined", friend="f1") for _ in range(6)]

    assert first.effects.task_changes[0].progress == 1
    assert all(o.effects.task_changes == () and o.effects.grants == () for o in repeats)
    assert player.state.tasks["invite"].distinct == ("f1",)


def test_ten_different_friends_earn_both_tiers_and_the_values_go_with_the_run() -> None:
    player = Player([invite_task()])

    outcomes = [player.send("friend.joined", friend=f"f{n}") for n in range(1, 11)]
    after = player.send("friend.joined", friend="f11")

    tiers = [c.tier for o in outcomes for c in o.effects.completions]
    assert tiers == [1, 2]
    assert [g.reward for g in outcomes[2].effects.grants] == [COUPON]
    assert [g.reward for g in outcomes[9].effects.grants] == [GIFT]
    state = player.state.tasks["invite"]
    assert (state.progress, state.completions, state.distinct) == (10, 1, ())
    assert after.effects.task_changes == ()  # done once


def test_an_event_without_the_attribute_does_not_count() -> None:
    player = Player([invite_task()])

    outcome = player.send("friend.joined")

    assert outcome.effects.task_changes == ()
    assert "invite" not in player.state.tasks


def test_a_repeatable_task_counts_a_friend_again_in_its_next_run() -> None:
    player = Player([invite_task(tiers=(TaskTier(2, (COUPON,)),), repeatable=True)])

    for friend in ("f1", "f2", "f1"):
        player.send("friend.joined", friend=friend)

    state = player.state.tasks["invite"]
    assert (state.completions, state.progress, state.distinct) == (1, 1, ("f1",))


def test_a_distinct_badge_counts_different_values_and_forgets_them_at_its_last_tier() -> None:
    player = Player([friends_badge(2, 3)])

    for friend in ("a", "a", "b"):
        player.send("friend.joined", friend=friend)
    middle = player.state.badges["social"]
    last = player.send("friend.joined", friend="c")

    assert (middle.progress, middle.tier, middle.distinct) == (2, 1, ("a", "b"))
    assert [u.tier for u in last.effects.badges] == [2]
    held = player.state.badges["social"]
    assert (held.progress, held.tier, held.distinct) == (3, 2, ())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"distinct_attribute": ""}, "distinct_attribute"),
        ({"distinct_attribute": "x" * 65}, "distinct_attribute"),
        ({"tiers": (TaskTier(3), TaskTier(1001))}, "distinct_attribute"),
        ({"measure": Measure.COUNT}, "distinct_attribute"),
    ],
)
def test_a_distinct_task_is_validated(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        invite_task(**changes)
    assert excinfo.value.field == field


def test_a_distinct_badge_names_its_attribute_and_stays_bounded() -> None:
    with pytest.raises(InvalidArgument, match=r"criterion\.distinct_attribute"):
        friends_badge(1001)
    bare = BadgeDefinition(
        "social", "Social", BadgeCriterion(CriterionKind.EVENT_DISTINCT, "friend.joined"),
        (BadgeTier("one", 1),),
    )  # fmt: skip
    with pytest.raises(InvalidArgument, match=r"criterion\.distinct_attribute"):
        bare.validate()
