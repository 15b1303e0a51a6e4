"""Goals in the domain: what an event contributes, milestones, grants and validation."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from service.domain.errors import InvalidArgument
from service.domain.goals import Credit, GoalDefinition, GoalMilestone, MetricKind, new_qualifiers
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.limits import Limits
from service.domain.rules.state import Event

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
POINTS = (Reward(RewardKind.POINTS, 10),)
GOAL = GoalDefinition(
    "spend", "Spend together", MetricKind.EVENT_SUM, START, END,
    (GoalMilestone(100, POINTS), GoalMilestone(300, (*POINTS, Reward(RewardKind.XP, 5)))),
    event_types=("order.paid",), conditions=(Condition("attributes.shop", Op.EQ, ("web",)),),
    min_contribution=50, version=2,
)  # fmt: skip


def _event(value: int, at: dt.datetime, shop: str = "web", kind: str = "order.paid") -> Event:
    return Event("k", "ann", kind, value, {"shop": shop}, at)


@pytest.mark.parametrize(
    ("event", "now", "added"),
    [
        (_event(40, START), START, 40),
        (_event(40, END - dt.timedelta(microseconds=1)), END - dt.timedelta(microseconds=1), 40),
        (_event(40, END), END, 0),
        (_event(40, START - dt.timedelta(seconds=1)), START, 0),  # occurred before the window
        (_event(40, END - dt.timedelta(seconds=1)), END, 0),  # arrived after it ended
        (_event(40, START, shop="app"), START, 0),
        (_event(40, START, kind="order.refunded"), START, 0),
        (_event(-40, START), START, 0),  # totals never fall
    ],
)
def test_an_event_contributes_in_the_window_when_its_conditions_hold(
    event: Event, now: dt.datetime, added: int
) -> None:
    assert GOAL.contribution(event, now) == added


def test_a_count_goal_counts_events_and_a_check_in_goal_takes_no_events() -> None:
    count = dataclasses.replace(GOAL, metric=MetricKind.EVENT_COUNT)
    check_ins = dataclasses.replace(GOAL, metric=MetricKind.CHECK_IN, event_types=(), conditions=())
    assert (
        count.contribution(_event(40, START), START),
        check_ins.contribution(_event(40, START), START),
    ) == (1, 0)


def test_milestones_reached_next_and_grants_per_reward() -> None:
    grants = GOAL.grants(GOAL.newly_reached(90, 300), "ann")
    assert [m.target for m in GOAL.reached(299)] == [100]
    assert GOAL.next_milestone(300) is None
    assert [g.idempotency_key for g in grants] == [
        "goal:spend:milestone:100:ann:0", "goal:spend:milestone:300:ann:0",
        "goal:spend:milestone:300:ann:1",
    ]  # fmt: skip
    assert {(g.cause_ref, g.definition_version) for g in grants} >= {
        ("goal:spend:milestone:100", 2)
    }


def test_new_qualifiers_are_those_who_just_reached_the_minimum() -> None:
    credits = [Credit("a", 40, 60), Credit("b", 60, 70), Credit("c", 0, 49), Credit("d", 0, 50)]
    assert new_qualifiers(GOAL, credits) == ["a", "d"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": START}, "ends_at"),
        ({"ends_at": START + dt.timedelta(days=401)}, "ends_at"),
        (
            {"milestones": (GoalMilestone(100, POINTS), GoalMilestone(100, POINTS))},
            "milestones[1].target",
        ),
        ({"milestones": ()}, "milestones"),
        ({"min_contribution": 0}, "min_contribution"),
        ({"team_id": "reds"}, "team_id"),
        ({"event_types": ("a", "a")}, "event_types"),
        ({"metric": MetricKind.CHECK_IN}, "event_types"),
        ({"title": " "}, "title"),
    ],
)
def test_a_malformed_goal_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        dataclasses.replace(GOAL, **change).validate()  # type: ignore[arg-type]
    assert refused.value.field == field


def test_rewards_are_cut_to_the_largest_grant_of_their_kind() -> None:
    coupons = GoalMilestone(100, (Reward(RewardKind.COUPON, 5000, "c"), *POINTS))
    capped = dataclasses.replace(GOAL, milestones=(coupons,)).capped(Limits())
    assert [r.amount for r in capped.milestones[0].rewards] == [1000, 10]
