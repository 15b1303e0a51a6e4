"""Tasks through the rules engine: targets, conditions, tiers, windows, audiences and claims."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from service.domain.rewards import Grant, Reward, RewardKind
from service.domain.rules.audience import rollout_bucket
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Measure,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.engine import evaluate_claim, evaluate_event
from service.domain.rules.state import (
    BadgeState,
    BadgeUnlock,
    Effects,
    Event,
    Outcome,
    Profile,
    Shared,
    TaskChange,
    TaskCompletion,
    TaskState,
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


def task(task_id: str = "buy", **changes: Any) -> TaskDefinition:
    """A valid task on purchases, done once at one purchase for 10 points, with `changes`."""
    base = TaskDefinition(
        task_id=task_id,
        title=f"Task {task_id}",
        event_type="purchase",
        tiers=(TaskTier(1, (points(10),)),),
        version=3,
    )
    definition = replace(base, **changes)
    definition.validate()
    return definition


def grant_keys(outcome: Outcome) -> list[str]:
    return [g.idempotency_key for g in outcome.effects.grants]


def test_a_count_task_completes_on_its_target() -> None:
    player = Player([task(tiers=(TaskTier(3, (points(50),)),))])

    for sent in (1, 2):
        outcome = player.send()
        assert outcome.effects == Effects(
            task_changes=(TaskChange("buy", 3, "once", sent, 3, 0, None),)
        )
        assert outcome.tasks == (TaskState(USER, "buy", 3, "once", sent),)

    third = player.send()
    assert third.effects.completions == (
        TaskCompletion(USER, "buy", 3, 1, 1, "once", (points(50),), NOW, "e3", claimed_at=NOW),
    )
    assert third.effects.grants == (
        Grant(
            "task:buy:user-1:once:run-1:tier-1:0",
            USER,
            points(50),
            "Task buy: tier 1 of 1",
            "task",
            "task:buy/event:e3",
            3,
        ),
    )
    assert third.tasks == (TaskState(USER, "buy", 3, "once", 3, 1, 1),)

    assert player.blocker("buy") == "already completed"
    assert player.send() == Outcome(Effects(), player.state.profile)


def test_a_sum_task_adds_event_values_and_ignores_negative_ones() -> None:
    player = Player([task(measure=Measure.SUM, tiers=(TaskTier(100, (points(25),)),))])

    progress = [player.send(value=v).tasks[0].progress for v in (40, 50, -20)]
    assert progress == [40, 90, 90]
    last = player.send(value=30)
    assert last.tasks[0].progress == 120
    assert grant_keys(last) == ["task:buy:user-1:once:run-1:tier-1:0"]


def test_conditions_filter_the_events_a_task_counts() -> None:
    books = (
        Condition("attributes.category", Op.EQ, ("books",)),
        Condition("value", Op.GE, ("10",)),
    )
    player = Player([task(measure=Measure.SUM, conditions=books, tiers=(TaskTier(30),))])

    ignored = [
        player.send(value=20, category="games"),
        player.send(value=5, category="books"),
        player.send(value=15),
        player.send("review", value=50, category="books"),
    ]
    assert all(o.effects == Effects() and o.tasks == () for o in ignored)
    assert player.send(value=20, category="books").tasks[0].progress == 20
    done = player.send(value=10, category="books")
    assert [c.tier for c in done.effects.completions] == [1]


INVITES = task(
    "invite",
    title="Invite friends",
    event_type="invite",
    tiers=(
        TaskTier(3, (Reward(RewardKind.COUPON, 1, "welcome-coupon"),)),
        TaskTier(10, (Reward(RewardKind.ITEM, 1, "gift-box"), points(100))),
    ),
)


def test_tiers_complete_one_by_one_with_their_own_rewards() -> None:
    player = Player([INVITES])

    outcomes = [player.send("invite") for _ in range(10)]
    reached = {
        n + 1: o.effects.completions for n, o in enumerate(outcomes) if o.effects.completions
    }
    assert list(reached) == [3, 10]
    assert [(c.run, c.tier) for c in reached[3]] == [(1, 1)]
    assert [(c.run, c.tier) for c in reached[10]] == [(1, 2)]
    assert outcomes[2].effects.task_changes == (TaskChange("invite", 3, "once", 3, 10, 1, None),)
    assert outcomes[3].effects.task_changes[0].target == 10
    assert outcomes[2].effects.grants == (
        Grant(
            "task:invite:user-1:once:run-1:tier-1:0",
            USER,
            Reward(RewardKind.COUPON, 1, "welcome-coupon"),
            "Invite friends: tier 1 of 2",
            "task",
            "task:invite/event:e3",
            3,
        ),
    )
    assert grant_keys(outcomes[9]) == [
        "task:invite:user-1:once:run-1:tier-2:0",
        "task:invite:user-1:once:run-1:tier-2:1",
    ]
    assert {g.cause_ref for g in outcomes[9].effects.grants} == {"task:invite/event:e10"}
    assert player.state.tasks["invite"] == TaskState(USER, "invite", 3, "once", 10, 2, 1)
    assert player.send("invite").effects == Effects()


def test_one_event_can_reach_several_tiers_in_order() -> None:
    player = Player([replace(INVITES, measure=Measure.SUM)])

    outcome = player.send("invite", value=12)

    assert [(c.run, c.tier) for c in outcome.effects.completions] == [(1, 1), (1, 2)]
    assert grant_keys(outcome) == [
        "task:invite:user-1:once:run-1:tier-1:0",
        "task:invite:user-1:once:run-1:tier-2:0",
        "task:invite:user-1:once:run-1:tier-2:1",
    ]
    assert [g.reward.kind for g in outcome.effects.grants] == [
        RewardKind.COUPON,
        RewardKind.ITEM,
        RewardKind.POINTS,
    ]
    assert outcome.tasks == (TaskState(USER, "invite", 3, "once", 12, 2, 1),)


def daily(**changes: Any) -> TaskDefinition:
    """Two purchases a day, every day."""
    base = {"cadence": Cadence.DAILY, "max_completions": 0, "tiers": (TaskTier(2, (points(20),)),)}
    return task(**{**base, **changes})


def test_a_daily_task_resets_at_the_users_local_midnight() -> None:
    player = Player([daily()], Profile(USER, NEW_YORK))

    # 23:30 and 00:30 in New York (UTC-4 on these days): two days, no completion.
    late = player.send(at=utc(2026, 3, 11, 3, 30))
    early = player.send(at=utc(2026, 3, 11, 4, 30))
    assert late.effects.task_changes == (
        TaskChange("buy", 3, "2026-03-10", 1, 2, 0, utc(2026, 3, 11, 4)),
    )
    assert early.effects.task_changes == (
        TaskChange("buy", 3, "2026-03-11", 1, 2, 0, utc(2026, 3, 12, 4)),
    )
    assert early.effects.completions == ()

    done = player.send(at=utc(2026, 3, 11, 20))
    assert [(c.run, c.window_id) for c in done.effects.completions] == [(1, "2026-03-11")]
    assert player.blocker("buy", utc(2026, 3, 12, 3, 59)) == "already completed in this window"
    assert player.send(at=utc(2026, 3, 12, 3, 59)).effects == Effects()

    player.send(at=utc(2026, 3, 12, 4, 0))
    again = player.send(at=utc(2026, 3, 12, 5))
    assert [(c.run, c.window_id) for c in again.effects.completions] == [(2, "2026-03-12")]
    assert grant_keys(again) == ["task:buy:user-1:2026-03-12:run-2:tier-1:0"]


def test_the_same_events_complete_a_daily_task_for_a_user_in_utc() -> None:
    player = Player([daily()])
    player.send(at=utc(2026, 3, 11, 3, 30))
    outcome = player.send(at=utc(2026, 3, 11, 4, 30))
    assert [(c.run, c.window_id) for c in outcome.effects.completions] == [(1, "2026-03-11")]


def test_a_weekly_task_counts_within_the_configured_week() -> None:
    weekly = daily(cadence=Cadence.WEEKLY, week_start=7)
    player = Player([weekly])

    saturday = player.send(at=utc(2026, 3, 14, 12))
    sunday = player.send(at=utc(2026, 3, 15, 12))
    assert saturday.effects.task_changes[0].window_id == "week-2026-03-08"
    assert sunday.effects.task_changes[0].window_id == "week-2026-03-15"
    assert sunday.effects.task_changes[0].window_end == utc(2026, 3, 22)
    assert sunday.effects.completions == ()

    saturday_after = player.send(at=utc(2026, 3, 21, 23, 59))
    assert [c.window_id for c in saturday_after.effects.completions] == ["week-2026-03-15"]


def test_active_weekdays_are_the_users_weekdays() -> None:
    weekend = task(active_weekdays=(6, 7))
    player = Player([weekend], Profile(USER, TOKYO))

    # Friday 2026-03-13 14:30 UTC is 23:30 on Friday in Tokyo; an hour later it is Saturday.
    friday = utc(2026, 3, 13, 14, 30)
    assert player.blocker("buy", friday) == "not active on Friday"
    assert player.send(at=friday).effects == Effects()
    saturday = player.send(at=utc(2026, 3, 13, 15, 30))
    assert [c.tier for c in saturday.effects.completions] == [1]


def test_a_date_range_task_opens_and_closes_at_local_midnights() -> None:
    campaign = task(
        cadence=Cadence.DATE_RANGE,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
        tiers=(TaskTier(5),),
    )
    player = Player([campaign], Profile(USER, NEW_YORK))

    # 23:30 EST on 28 February, 23:30 EDT on 31 March, 00:30 EDT on 1 April.
    before, last, after = utc(2026, 3, 1, 4, 30), utc(2026, 4, 1, 3, 30), utc(2026, 4, 1, 4, 30)
    assert player.blocker("buy", before) == "window not open: starts on 2026-03-01"
    assert player.send(at=before).tasks == ()
    assert player.send(at=last).effects.task_changes == (
        TaskChange("buy", 3, "2026-03-01..2026-03-31", 1, 5, 0, utc(2026, 4, 1, 4)),
    )
    assert player.blocker("buy", after) == "window closed: ended on 2026-03-31"
    assert player.send(at=after).tasks == ()


def test_starts_on_and_ends_on_bound_a_daily_task_too() -> None:
    player = Player([daily(starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 10))])
    assert player.blocker("buy", utc(2026, 3, 9, 23)) == "window not open: starts on 2026-03-10"
    assert player.blocker("buy", utc(2026, 3, 10, 23)) == ""
    assert player.blocker("buy", utc(2026, 3, 11)) == "window closed: ended on 2026-03-10"


def test_a_repeatable_task_starts_over_until_its_maximum() -> None:
    repeatable = task(repeatable=True, max_completions=3, tiers=(TaskTier(2, (points(5),)),))
    player = Player([repeatable])

    outcomes = [player.send() for _ in range(8)]
    completed = [(n + 1, c.run) for n, o in enumerate(outcomes) for c in o.effects.completions]
    assert completed == [(2, 1), (4, 2), (6, 3)]
    # Starting over resets progress; the last run keeps it.
    assert [o.effects.task_changes[0].progress for o in outcomes[:6]] == [1, 0, 1, 0, 1, 2]
    assert grant_keys(outcomes[3]) == ["task:buy:user-1:once:run-2:tier-1:0"]
    assert player.state.tasks["buy"] == TaskState(USER, "buy", 3, "once", 2, 1, 3)
    assert outcomes[6].effects == outcomes[7].effects == Effects()
    assert player.blocker("buy") == "completed the maximum of 3 times"


def test_a_repeatable_daily_task_repeats_within_the_day() -> None:
    player = Player([daily(repeatable=True)])
    outcomes = [player.send(at=NOW + dt.timedelta(minutes=n)) for n in range(5)]
    assert [c.run for o in outcomes for c in o.effects.completions] == [1, 2]
    assert player.state.tasks["buy"] == TaskState(USER, "buy", 3, "2026-03-10", 1, 0, 2)


def test_prerequisites_must_be_completed_first() -> None:
    profile_done = task("profile", event_type="profile-updated")
    spender = task("spender", prerequisites=("profile",))
    player = Player([profile_done, spender])

    assert player.blocker("spender") == "prerequisite profile not done"
    assert player.send().tasks == ()
    assert [t.task_id for t in player.send("profile-updated").tasks] == ["profile"]
    assert player.blocker("spender") == ""
    assert [c.task_id for c in player.send().effects.completions] == ["spender"]


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (Profile(USER, level=3, segments=("gold",)), "requires level 5, user is level 3"),
        (Profile(USER, level=5), "requires one of the segments vip, gold"),
        (Profile(USER, level=5, segments=("new",)), "requires one of the segments vip, gold"),
        (Profile(USER, level=5, segments=("new", "gold")), ""),
        (Profile(USER, level=9, segments=("vip",)), ""),
    ],
)
def test_min_level_and_segments_choose_the_audience(profile: Profile, reason: str) -> None:
    player = Player([task(min_level=5, segments=("vip", "gold"))], profile)
    assert player.blocker("buy") == reason
    assert bool(player.send().effects.completions) is (not reason)


def test_a_task_without_auto_claim_waits_for_the_claim() -> None:
    manual = task(auto_claim=False, tiers=(TaskTier(1, (points(10), Reward(RewardKind.XP, 40))),))
    player = Player([manual])

    outcome = player.send()
    (completion,) = outcome.effects.completions
    assert completion.claimed_at is None
    assert completion.rewards == (points(10), Reward(RewardKind.XP, 40))
    assert outcome.effects.grants == ()
    assert outcome.profile.xp == 0
    assert outcome.tasks[0].completions == 1

    later = NOW + dt.timedelta(hours=2)
    claimed = evaluate_claim([completion], player.state, player.rules, Shared(), later)
    assert claimed.effects.completions == (replace(completion, claimed_at=later),)
    assert claimed.effects.grants == tuple(
        Grant(
            f"task:buy:user-1:once:run-1:tier-1:{index}",
            USER,
            reward,
            "Task buy: tier 1 claimed",
            "task",
            "task:buy/claim",
            3,
        )
        for index, reward in enumerate(completion.rewards)
    )
    assert claimed.profile.xp == 40


def test_a_tier_badge_reward_awards_the_badge() -> None:
    recruiter = BadgeDefinition(
        "recruiter",
        "Recruiter",
        BadgeCriterion(CriterionKind.EVENT_COUNT, event_type="referral-accepted"),
        (BadgeTier("Recruiter", 5, (points(100),)), BadgeTier("Headhunter", 20)),
        version=2,
    )
    invites = replace(INVITES, tiers=(replace(INVITES.tiers[0], badge_id="recruiter"),))
    player = Player([invites, recruiter])

    player.send("invite")
    player.send("invite")
    third = player.send("invite")

    assert third.effects.badges == (BadgeUnlock("recruiter", 2, 1, "Recruiter"),)
    assert third.badges == (BadgeState(USER, "recruiter", 2, 5, 1, NOW),)
    assert grant_keys(third) == [
        "task:invite:user-1:once:run-1:tier-1:0",
        "badge:recruiter:user-1:tier-1:0",
    ]
    badge_grant = third.effects.grants[1]
    assert (badge_grant.cause_kind, badge_grant.cause_ref) == ("badge", "badge:recruiter/event:e3")
    assert badge_grant.reason == "Recruiter: Recruiter"


def test_a_task_moves_only_for_users_in_its_rollout() -> None:
    rules = [task(rollout_percent=10)]
    moved: list[str] = []
    users = [f"user-{n}" for n in range(300)]
    for user in users:
        player = Player(rules, Profile(user))
        event = Event("e", user, "purchase", 1, {}, NOW)
        if evaluate_event(event, player.state, player.rules, Shared(), NOW).tasks:
            moved.append(user)
        else:
            bucket = rollout_bucket("buy", user)
            assert player.blocker("buy") == (
                f"not in rollout: bucket {bucket} is outside the first 10%"
            )
    assert moved == [user for user in users if rollout_bucket("buy", user) < 10]
    assert 10 <= len(moved) <= 50


def test_a_tier_reached_again_in_a_new_window_gets_a_new_identity() -> None:
    # Daily: 2 purchases reach tier 1, 5 complete the task; the user stops at 2 on each day.
    player = Player([daily(tiers=(TaskTier(2, (points(10),)), TaskTier(5, (points(30),))))])
    reached, keys = [], []
    for day in (10, 11):
        for minute in (0, 1):
            outcome = player.send(at=utc(2026, 3, day, 12, minute))
            reached += [(c.window_id, c.ref) for c in outcome.effects.completions]
            keys += grant_keys(outcome)
    assert [window for window, _ in reached] == ["2026-03-10", "2026-03-11"]
    # Both grants must reach the loyalty system: the outbox keeps one grant per key.
    assert len({ref for _, ref in reached}) == len(set(keys)) == 2


def test_a_late_event_never_takes_a_task_back_to_an_earlier_window() -> None:
    player = Player([daily()])
    player.send(at=utc(2026, 3, 10, 12))
    late = player.send(at=utc(2026, 3, 9, 23))  # yesterday, arriving today

    assert late.effects == Effects()
    assert player.blocker("buy", utc(2026, 3, 9, 23)) == (
        "window closed: the event falls before the task's current window"
    )
    assert player.state.tasks["buy"].progress == 1
    done = player.send(at=utc(2026, 3, 10, 13))
    assert [c.window_id for c in done.effects.completions] == ["2026-03-10"]


def test_switching_timezones_cannot_complete_a_day_twice() -> None:
    player = Player([daily(tiers=(TaskTier(1, (points(20),)),))])
    instant = utc(2026, 3, 10, 12)
    completions: list[TaskCompletion] = []
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Kiritimati", "Etc/GMT+12"):
        player.state = replace(player.state, profile=replace(player.state.profile, timezone=zone))
        completions += player.send(at=instant).effects.completions
    assert [c.window_id for c in completions] == ["2026-03-11"]
