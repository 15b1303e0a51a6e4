"""Duel and assist rules without I/O: outcomes, scoring windows, validation, assist limits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from service.domain.duels import Duel, DuelState, DuelType, ScoringSide, outcome, score_steps
from service.domain.errors import InvalidArgument, ResourceExhausted
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.assists import AssistRecord, AssistRule, check_assist
from service.domain.rules.definitions import Measure, TaskDefinition, TaskTier
from service.domain.rules.state import Event

T0 = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
PK = DuelType(
    "pk", "PK", ("order",), Measure.SUM, HOUR, HOUR,
    winner_rewards=(Reward(RewardKind.POINTS, 100),),
    participation_rewards=(Reward(RewardKind.POINTS, 10), Reward(RewardKind.ITEM, 1, "cap")),
)  # fmt: skip


def _duel(a: int, b: int) -> Duel:
    return Duel(7, PK, "ann", "bob", DuelState.ACTIVE, T0, T0, T0, T0 + HOUR, a, b)


def test_the_winner_gets_more_and_the_loser_keeps_the_participation_rewards() -> None:
    result = outcome(_duel(3, 2))

    assert result.winner_id == "ann"
    assert [(g.user_id, g.idempotency_key, g.reward.amount) for g in result.grants] == [
        ("ann", "duel:7:ann:participation:0", 10), ("ann", "duel:7:ann:participation:1", 1),
        ("ann", "duel:7:ann:winner:0", 100),
        ("bob", "duel:7:bob:participation:0", 10), ("bob", "duel:7:bob:participation:1", 1),
    ]  # fmt: skip
    assert {g.cause_ref for g in result.grants} == {"duel:7"}


def test_a_draw_without_draw_rewards_pays_participation_only() -> None:
    result = outcome(_duel(0, 0))

    assert result.winner_id == ""
    assert {g.idempotency_key.split(":")[3] for g in result.grants} == {"participation"}


def test_only_the_sides_events_of_its_types_inside_the_window_count() -> None:
    side = ScoringSide(7, "ann", ("order",), Measure.SUM, T0, T0 + HOUR)
    count = dataclasses.replace(side, duel_id=8, measure=Measure.COUNT)
    events = [
        Event("k1", "ann", "order", 30, {}, T0),
        Event("k2", "ann", "order", -5, {}, T0 + HOUR / 2),
        Event("k3", "ann", "order", 99, {}, T0 + HOUR),  # the window's end is outside it
        Event("k4", "ann", "refund", 99, {}, T0),
        Event("k5", "bob", "order", 99, {}, T0),
    ]

    assert score_steps([side, count], events) == {(7, "ann"): 30, (8, "ann"): 2}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_types": ()}, "event_types"),
        ({"event_types": ("a", "a")}, "event_types"),
        ({"measure": Measure.DISTINCT}, "measure"),
        ({"window": dt.timedelta(seconds=59)}, "window"),
        ({"respond_within": dt.timedelta(days=31)}, "respond_within"),
        ({"max_open_per_user": 0}, "max_open_per_user"),
        ({"winner_rewards": (Reward(RewardKind.POINTS, 0),)}, "winner_rewards[0].amount"),
    ],
)
def test_a_bad_duel_type_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        dataclasses.replace(PK, **change).validate()  # type: ignore[arg-type]
    assert excinfo.value.field == field


def _assist(helper: str, window: str, at: dt.datetime) -> AssistRecord:
    return AssistRecord(1, "ann", helper, "t", 1, window, 1, "k", at)


def test_assist_limits_count_the_window_and_space_one_friends_help() -> None:
    rule = AssistRule(per_friend_cap=2, per_task_cap=3, window=HOUR)
    check_assist(rule, "bob", "w2", [_assist("bob", "w1", T0 - HOUR)], T0)
    with pytest.raises(ResourceExhausted, match="again from"):
        check_assist(rule, "bob", "w2", [_assist("bob", "w1", T0 - HOUR / 2)], T0)
    with pytest.raises(ResourceExhausted, match="2 times"):
        check_assist(rule, "bob", "w", [_assist("bob", "w", T0 - 3 * HOUR)] * 2, T0)
    others = [_assist(f, "w", T0) for f in ("cy", "dee", "eve")]
    with pytest.raises(ResourceExhausted, match="3 assists"):
        check_assist(rule, "bob", "w", others, T0)


def test_a_distinct_task_or_a_bad_assist_rule_is_refused() -> None:
    task = TaskDefinition("t", "T", "e", (TaskTier(3),), assists=AssistRule())
    task.validate()
    with pytest.raises(InvalidArgument, match="assists: a distinct task"):
        dataclasses.replace(task, measure=Measure.DISTINCT, distinct_attribute="f").validate()
    with pytest.raises(InvalidArgument, match=r"assists\.per_friend_cap"):
        dataclasses.replace(task, assists=AssistRule(per_friend_cap=6)).validate()
