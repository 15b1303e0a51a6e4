"""Check-in rules: local days, streaks, freezes, reward cycle, milestones and program checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from service.domain.check_in import (
    CheckInOutcome,
    CheckInProgram,
    DayStatus,
    Milestone,
    StreakState,
    check_in,
    day_to_check_in,
    preview_rewards,
    view_streak,
)
from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward, RewardKind

UTC = dt.UTC
USER = "user-1"
TOKYO = "Asia/Tokyo"
NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


def points(amount: int) -> Reward:
    return Reward(RewardKind.POINTS, amount)


CHEST = Reward(RewardKind.ITEM, 1, "chest")


def program(**changes: Any) -> CheckInProgram:
    """A valid three-day cycle of 10, 20 and 30 points, with `changes` applied."""
    base = CheckInProgram(version=7, cycle=((points(10),), (points(20),), (points(30),)))
    return replace(base, **changes)


def may(day: int) -> dt.date:
    return dt.date(2024, 5, day)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def run(
    prog: CheckInProgram, days: Iterable[dt.date], state: StreakState | None = None
) -> tuple[StreakState, list[CheckInOutcome]]:
    """Check in at noon UTC on each of `days`, asserting every check-in is accepted."""
    state = state or StreakState(USER)
    outcomes = []
    for day in days:
        assert day_to_check_in(state, noon(day), "UTC") == day
        outcome = check_in(state, prog, day, noon(day), "UTC")
        outcomes.append(outcome)
        state = outcome.state
    return state, outcomes


def check_in_at(
    state: StreakState, prog: CheckInProgram, now: dt.datetime, timezone: str
) -> CheckInOutcome:
    """Check in at `now` in `timezone`, asserting it opens a new day."""
    day = day_to_check_in(state, now, timezone)
    assert day is not None
    return check_in(state, prog, day, now, timezone)


def milestone_keys(outcomes: Iterable[CheckInOutcome]) -> list[str]:
    return [
        grant.idempotency_key
        for outcome in outcomes
        for grant in outcome.grants
        if grant.cause_kind == "check_in_milestone"
    ]


# First check-in and the same day


def test_first_check_in_starts_a_streak_with_the_starting_freezes() -> None:
    now = dt.datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    state = StreakState(USER)
    assert day_to_check_in(state, now, "UTC") == may(1)

    outcome = check_in(state, program(starting_freezes=2, max_freezes=3), may(1), now, "UTC")

    record = outcome.record
    assert (record.day, record.status, record.at, record.timezone) == (
        may(1),
        DayStatus.CHECKED_IN,
        now,
        "UTC",
    )
    assert (record.cycle_day, record.streak, record.streak_started_on) == (1, 1, may(1))
    assert record.program_version == 7
    assert outcome.frozen == ()
    assert outcome.state == replace(
        state,
        timezone="UTC",
        current=1,
        longest=1,
        freezes=2,
        first_day=may(1),
        last_day=may(1),
        streak_started_on=may(1),
        cycle_day=1,
        milestone_reached=1,
    )


def test_first_check_in_grants_the_first_cycle_day() -> None:
    outcome = check_in(StreakState(USER), program(), may(1), noon(may(1)), "UTC")

    (grant,) = outcome.grants
    assert grant.idempotency_key == "check_in:user-1:2024-05-01:cycle:0"
    assert (grant.user_id, grant.reward, grant.definition_version) == (USER, points(10), 7)
    assert (grant.cause_kind, grant.cause_ref) == ("check_in", "check_in:user-1:2024-05-01")
    assert grant.reason == "check-in day 1 of 3"


@pytest.mark.parametrize(
    "later",
    [
        dt.datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
        dt.datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_a_second_check_in_the_same_local_day_is_already_checked_in(later: dt.datetime) -> None:
    state, _ = run(program(), [may(1)])

    assert day_to_check_in(state, later, "UTC") is None
    assert preview_rewards(state, program(), later, "UTC") == ()


# Consecutive days, the reward cycle and breaks


def test_consecutive_days_escalate_the_cycle_and_wrap_after_its_last_day() -> None:
    state, outcomes = run(program(), [may(d) for d in range(1, 8)])

    assert [o.record.cycle_day for o in outcomes] == [1, 2, 3, 1, 2, 3, 1]
    assert [o.record.streak for o in outcomes] == [1, 2, 3, 4, 5, 6, 7]
    assert [o.grants[0].reward.amount for o in outcomes] == [10, 20, 30, 10, 20, 30, 10]
    assert outcomes[2].grants[0].reason == "check-in day 3 of 3"
    assert {o.record.streak_started_on for o in outcomes} == {may(1)}
    assert (state.current, state.longest, state.cycle_day) == (7, 7, 1)


@pytest.mark.parametrize(
    ("restarts", "cycle_day_after_break"),
    [(True, 1), (False, 3)],
)
def test_a_break_starts_a_new_streak(restarts: bool, cycle_day_after_break: int) -> None:
    prog = program(cycle_restarts_on_break=restarts)
    state, _ = run(prog, [may(1), may(2)])

    outcome = check_in(state, prog, may(4), noon(may(4)), "UTC")

    assert outcome.record.cycle_day == cycle_day_after_break
    assert outcome.grants[0].reward == prog.cycle[cycle_day_after_break - 1][0]
    assert (outcome.record.streak, outcome.record.streak_started_on) == (1, may(4))
    assert outcome.frozen == ()
    assert (outcome.state.current, outcome.state.longest) == (1, 2)
    assert outcome.state.streak_started_on == may(4)


# Freezes


def test_missed_days_are_covered_by_freezes_and_recorded_as_frozen() -> None:
    prog = program(starting_freezes=2, max_freezes=2)
    state, _ = run(prog, [may(1)])

    outcome = check_in(state, prog, may(4), noon(may(4)), "UTC")

    assert [(r.day, r.status) for r in outcome.frozen] == [
        (may(2), DayStatus.FROZEN),
        (may(3), DayStatus.FROZEN),
    ]
    assert {(r.cycle_day, r.streak, r.streak_started_on) for r in outcome.frozen} == {
        (0, 1, may(1))
    }
    assert not any(r.counts for r in outcome.frozen)
    assert (outcome.record.streak, outcome.record.cycle_day) == (2, 2)
    assert (outcome.state.current, outcome.state.freezes) == (2, 0)


@pytest.mark.parametrize(("freezes", "missed"), [(0, 1), (1, 2), (2, 3)])
def test_freezes_are_not_consumed_when_too_few(freezes: int, missed: int) -> None:
    prog = program(starting_freezes=freezes, max_freezes=freezes)
    state, _ = run(prog, [may(1)])
    day = may(2 + missed)

    outcome = check_in(state, prog, day, noon(day), "UTC")

    assert outcome.frozen == ()
    assert (outcome.state.current, outcome.state.freezes) == (1, freezes)
    assert outcome.record.streak_started_on == day


def test_freezes_are_earned_every_n_days_up_to_the_max() -> None:
    prog = program(freeze_earned_every_days=3, max_freezes=2)

    _, outcomes = run(prog, [may(d) for d in range(1, 11)])

    assert [o.state.freezes for o in outcomes] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]


def test_no_freezes_are_earned_when_earning_is_off() -> None:
    state, _ = run(program(max_freezes=5), [may(d) for d in range(1, 11)])

    assert state.freezes == 0


def test_a_freeze_spent_on_a_gap_is_earned_back_by_the_streak() -> None:
    prog = program(starting_freezes=1, freeze_earned_every_days=2, max_freezes=1)

    _, outcomes = run(prog, [may(1), may(3)])

    assert [r.day for r in outcomes[1].frozen] == [may(2)]
    assert (outcomes[1].state.current, outcomes[1].state.freezes) == (2, 1)


# Milestones


def test_milestones_are_granted_once_per_streak() -> None:
    prog = program(milestones=(Milestone(5, (CHEST,)), Milestone(3, (points(100),))))

    _, outcomes = run(prog, [may(d) for d in range(1, 9)])

    assert milestone_keys(outcomes) == [
        "check_in:user-1:streak:2024-05-01:milestone:3:0",
        "check_in:user-1:streak:2024-05-01:milestone:5:0",
    ]
    (grant,) = [g for g in outcomes[2].grants if g.cause_kind == "check_in_milestone"]
    assert (grant.reward, grant.reason) == (points(100), "3-day check-in streak")
    assert (grant.cause_ref, grant.definition_version) == ("check_in:user-1:2024-05-03", 7)


def test_a_new_streak_earns_a_milestone_again_under_a_new_key() -> None:
    prog = program(milestones=(Milestone(3, (points(100),)),))

    _, outcomes = run(prog, [may(1), may(2), may(3), may(5), may(6), may(7)])

    assert milestone_keys(outcomes) == [
        "check_in:user-1:streak:2024-05-01:milestone:3:0",
        "check_in:user-1:streak:2024-05-05:milestone:3:0",
    ]


def test_a_milestone_with_several_rewards_has_one_key_per_reward() -> None:
    prog = program(milestones=(Milestone(1, (points(5), CHEST)),))

    _, outcomes = run(prog, [may(1)])

    assert milestone_keys(outcomes) == [
        "check_in:user-1:streak:2024-05-01:milestone:1:0",
        "check_in:user-1:streak:2024-05-01:milestone:1:1",
    ]


# Local midnight, offsets and DST


def test_either_side_of_local_midnight_in_tokyo_are_two_consecutive_days() -> None:
    before = dt.datetime(2024, 5, 1, 14, 59, tzinfo=UTC)  # 23:59 JST on May 1
    after = dt.datetime(2024, 5, 1, 15, 1, tzinfo=UTC)  # 00:01 JST on May 2, still May 1 UTC

    first = check_in_at(StreakState(USER), program(), before, TOKYO)
    second = check_in_at(first.state, program(), after, TOKYO)

    assert (first.record.day, second.record.day) == (may(1), may(2))
    assert (second.record.streak, second.frozen) == (2, ())


def test_one_minute_past_and_to_local_midnight_in_tokyo_are_one_day() -> None:
    first = check_in_at(
        StreakState(USER), program(), dt.datetime(2024, 5, 1, 15, 1, tzinfo=UTC), TOKYO
    )

    last_minute = dt.datetime(2024, 5, 2, 14, 59, tzinfo=UTC)  # 23:59 JST on May 2
    assert first.record.day == may(2)
    assert day_to_check_in(first.state, last_minute, TOKYO) is None


def test_the_local_day_does_not_depend_on_the_offset_of_now() -> None:
    # 23:30 at UTC-5 is already May 2 in UTC, as on a server running outside UTC.
    now = dt.datetime(2024, 5, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))

    assert day_to_check_in(StreakState(USER), now, "UTC") == may(2)
    assert day_to_check_in(StreakState(USER), now, TOKYO) == may(2)
    assert day_to_check_in(StreakState(USER), now, "America/Chicago") == may(1)  # CDT, UTC-5


DST_DAYS = [
    pytest.param(
        NEW_YORK,
        [
            dt.datetime(2024, 3, 10, 4, 59, tzinfo=UTC),  # Mar 9, 23:59 EST
            dt.datetime(2024, 3, 10, 7, 0, tzinfo=UTC),  # Mar 10, 03:00 EDT, just after the jump
            dt.datetime(2024, 3, 11, 4, 0, tzinfo=UTC),  # Mar 11, 00:00 EDT
        ],
        [dt.date(2024, 3, 9), dt.date(2024, 3, 10), dt.date(2024, 3, 11)],
        id="new-york-spring-forward",
    ),
    pytest.param(
        NEW_YORK,
        [
            dt.datetime(2024, 11, 3, 3, 59, tzinfo=UTC),  # Nov 2, 23:59 EDT
            dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC),  # Nov 3, the second 01:30 (EST)
            dt.datetime(2024, 11, 4, 5, 0, tzinfo=UTC),  # Nov 4, 00:00 EST
        ],
        [dt.date(2024, 11, 2), dt.date(2024, 11, 3), dt.date(2024, 11, 4)],
        id="new-york-fall-back",
    ),
    pytest.param(
        BERLIN,
        [
            dt.datetime(2024, 3, 30, 22, 59, tzinfo=UTC),  # Mar 30, 23:59 CET
            dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC),  # Mar 31, 03:00 CEST, just after the jump
            dt.datetime(2024, 3, 31, 22, 0, tzinfo=UTC),  # Apr 1, 00:00 CEST
        ],
        [dt.date(2024, 3, 30), dt.date(2024, 3, 31), dt.date(2024, 4, 1)],
        id="berlin-spring-forward",
    ),
    pytest.param(
        BERLIN,
        [
            dt.datetime(2024, 10, 26, 21, 59, tzinfo=UTC),  # Oct 26, 23:59 CEST
            dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # Oct 27, the first 02:30 (CEST)
            dt.datetime(2024, 10, 27, 23, 0, tzinfo=UTC),  # Oct 28, 00:00 CET
        ],
        [dt.date(2024, 10, 26), dt.date(2024, 10, 27), dt.date(2024, 10, 28)],
        id="berlin-fall-back",
    ),
]


@pytest.mark.parametrize(("zone", "instants", "days"), DST_DAYS)
def test_consecutive_local_days_across_a_dst_change_continue_the_streak(
    zone: str, instants: list[dt.datetime], days: list[dt.date]
) -> None:
    state = StreakState(USER)
    outcomes = []
    for now in instants:
        outcomes.append(check_in_at(state, program(), now, zone))
        state = outcomes[-1].state

    assert [o.record.day for o in outcomes] == days
    assert [o.record.streak for o in outcomes] == [1, 2, 3]
    assert all(o.frozen == () for o in outcomes)


@pytest.mark.parametrize(
    ("zone", "first", "second"),
    [
        pytest.param(
            NEW_YORK,
            dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC),  # 01:30 EDT
            dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC),  # 01:30 EST, the repeated hour
            id="new-york-repeated-hour",
        ),
        pytest.param(
            BERLIN,
            dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 CEST
            dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),  # 02:30 CET, the repeated hour
            id="berlin-repeated-hour",
        ),
        pytest.param(
            NEW_YORK,
            dt.datetime(2024, 11, 3, 4, 0, tzinfo=UTC),  # 00:00 EDT
            dt.datetime(2024, 11, 4, 4, 59, tzinfo=UTC),  # 23:59 EST, 25 hours later
            id="new-york-25-hour-day",
        ),
        pytest.param(
            BERLIN,
            dt.datetime(2024, 3, 30, 23, 0, tzinfo=UTC),  # 00:00 CET
            dt.datetime(2024, 3, 31, 21, 59, tzinfo=UTC),  # 23:59 CEST, 23 hours later
            id="berlin-23-hour-day",
        ),
    ],
)
def test_two_check_ins_within_one_dst_day_are_one_day(
    zone: str, first: dt.datetime, second: dt.datetime
) -> None:
    outcome = check_in_at(StreakState(USER), program(), first, zone)

    assert day_to_check_in(outcome.state, second, zone) is None


# Timezone changes

EAST_FROM_NEW_YORK = dt.datetime(2024, 6, 11, 3, 0, tzinfo=UTC)  # Jun 10, 23:00 EDT


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (EAST_FROM_NEW_YORK, None),  # the same instant is Jun 11, 12:00 in Tokyo
        (dt.datetime(2024, 6, 11, 3, 59, 59, tzinfo=UTC), None),
        (dt.datetime(2024, 6, 11, 4, 0, tzinfo=UTC), dt.date(2024, 6, 11)),  # midnight in NY
    ],
)
def test_moving_east_waits_for_the_previous_day_to_end_where_it_was_made(
    now: dt.datetime, expected: dt.date | None
) -> None:
    first = check_in_at(StreakState(USER), program(), EAST_FROM_NEW_YORK, NEW_YORK)

    assert day_to_check_in(first.state, now, TOKYO) == expected


def test_moving_east_continues_the_streak_once_the_day_has_ended() -> None:
    first = check_in_at(StreakState(USER), program(), EAST_FROM_NEW_YORK, NEW_YORK)

    second = check_in_at(first.state, program(), dt.datetime(2024, 6, 11, 4, tzinfo=UTC), TOKYO)

    assert (second.record.day, second.record.streak) == (dt.date(2024, 6, 11), 2)
    assert second.state.timezone == TOKYO


def test_the_streak_view_agrees_with_check_in_after_moving_east() -> None:
    first = check_in_at(StreakState(USER), program(), EAST_FROM_NEW_YORK, NEW_YORK)
    half_an_hour_later = EAST_FROM_NEW_YORK + dt.timedelta(minutes=30)  # Jun 10, 23:30 in NY

    view = view_streak(first.state, program(), half_an_hour_later, TOKYO)

    assert day_to_check_in(first.state, half_an_hour_later, TOKYO) is None
    assert view.checked_in_today


WEST_FROM_TOKYO = dt.datetime(2024, 6, 10, 23, 0, tzinfo=UTC)  # Jun 11, 08:00 JST


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2024, 6, 10, 23, 30, tzinfo=UTC), None),  # Jun 10, 19:30 EDT
        (dt.datetime(2024, 6, 11, 4, 30, tzinfo=UTC), None),  # Jun 11, 00:30 EDT
        (dt.datetime(2024, 6, 12, 3, 59, tzinfo=UTC), None),  # Jun 11, 23:59 EDT
        (dt.datetime(2024, 6, 12, 4, 0, tzinfo=UTC), dt.date(2024, 6, 12)),  # Jun 12, 00:00 EDT
    ],
)
def test_moving_west_never_reopens_a_day(now: dt.datetime, expected: dt.date | None) -> None:
    first = check_in_at(StreakState(USER), program(), WEST_FROM_TOKYO, TOKYO)

    assert day_to_check_in(first.state, now, NEW_YORK) == expected


@pytest.mark.parametrize(
    ("old_zone", "first", "new_zone", "second", "new_day"),
    [
        pytest.param(
            NEW_YORK,
            dt.datetime(2024, 6, 10, 16, 0, tzinfo=UTC),  # Jun 10, 12:00 EDT
            TOKYO,
            dt.datetime(2024, 6, 11, 15, 30, tzinfo=UTC),  # Jun 12, 00:30 JST; Jun 11 in NY
            dt.date(2024, 6, 12),
            id="east-new-york-to-tokyo",
        ),
        pytest.param(
            "Pacific/Pago_Pago",
            dt.datetime(2024, 6, 10, 11, 30, tzinfo=UTC),  # Jun 10, 00:30 at UTC-11
            "Pacific/Kiritimati",
            dt.datetime(2024, 6, 11, 11, 0, tzinfo=UTC),  # Jun 12, 01:00 at UTC+14
            dt.date(2024, 6, 12),
            id="east-across-the-date-line",
        ),
        pytest.param(
            TOKYO,
            dt.datetime(2024, 6, 10, 14, 0, tzinfo=UTC),  # Jun 10, 23:00 JST
            NEW_YORK,
            dt.datetime(2024, 6, 12, 3, 0, tzinfo=UTC),  # Jun 11, 23:00 EDT; Jun 12 in Tokyo
            dt.date(2024, 6, 11),
            id="west-tokyo-to-new-york",
        ),
    ],
)
def test_a_timezone_change_alone_never_costs_a_day(
    old_zone: str, first: dt.datetime, new_zone: str, second: dt.datetime, new_day: dt.date
) -> None:
    start = check_in_at(StreakState(USER), program(), first, old_zone)
    assert view_streak(start.state, program(), second, new_zone).current == 1

    outcome = check_in_at(start.state, program(), second, new_zone)

    assert (outcome.record.day, outcome.record.streak) == (new_day, 2)
    assert (outcome.frozen, outcome.state.freezes) == ((), 0)


@pytest.mark.parametrize(
    ("freezes", "streak", "frozen_days"),
    [(0, 1, []), (1, 2, [dt.date(2024, 6, 11)])],
)
def test_a_day_missed_in_both_timezones_still_counts(
    freezes: int, streak: int, frozen_days: list[dt.date]
) -> None:
    prog = program(starting_freezes=freezes, max_freezes=freezes)
    start = check_in_at(StreakState(USER), prog, dt.datetime(2024, 6, 10, 16, tzinfo=UTC), NEW_YORK)

    # Jun 13, 00:30 in Tokyo is Jun 12 in New York: Jun 11 was missed in both zones.
    outcome = check_in_at(start.state, prog, dt.datetime(2024, 6, 12, 15, 30, tzinfo=UTC), TOKYO)

    assert (outcome.record.day, outcome.record.streak) == (dt.date(2024, 6, 13), streak)
    assert [r.day for r in outcome.frozen] == frozen_days
    assert outcome.state.freezes == 0


# Viewing the streak


@pytest.mark.parametrize(
    ("freezes", "viewed_on", "current", "checked_in_today"),
    [
        (0, may(3), 3, True),
        (0, may(4), 3, False),
        (0, may(5), 0, False),
        (1, may(5), 3, False),
        (1, may(6), 0, False),
        (2, may(6), 3, False),
    ],
)
def test_view_streak_shows_zero_once_missed_days_exceed_the_freezes(
    freezes: int, viewed_on: dt.date, current: int, checked_in_today: bool
) -> None:
    prog = program(starting_freezes=freezes, max_freezes=freezes, make_up_tickets_per_month=2)
    state, _ = run(prog, [may(1), may(2), may(3)])

    view = view_streak(state, prog, noon(viewed_on), "UTC")

    assert (view.current, view.checked_in_today) == (current, checked_in_today)
    assert (view.longest, view.freezes, view.last_day) == (3, freezes, may(3))
    assert (view.make_up_tickets, view.timezone) == (2, "UTC")


def test_view_streak_of_a_new_user_is_empty() -> None:
    view = view_streak(StreakState(USER), program(), noon(may(1)), TOKYO)

    assert (view.current, view.longest, view.freezes) == (0, 0, 0)
    assert (view.last_day, view.checked_in_today, view.timezone) == (None, False, "")


def test_view_streak_uses_the_local_day_of_the_timezone_given() -> None:
    state, _ = run(program(), [may(1)])
    tokyo_may_3 = dt.datetime(2024, 5, 2, 15, 30, tzinfo=UTC)  # May 3, 00:30 JST

    assert view_streak(state, program(), tokyo_may_3, "UTC").current == 1
    assert view_streak(state, program(), tokyo_may_3 + dt.timedelta(days=1), TOKYO).current == 0


# Previewing rewards


def test_preview_rewards_of_a_new_user_is_the_first_cycle_day() -> None:
    assert preview_rewards(StreakState(USER), program(), noon(may(1)), "UTC") == (points(10),)


def test_preview_rewards_includes_a_milestone_reached_today() -> None:
    prog = program(milestones=(Milestone(3, (CHEST,)),))
    state, _ = run(prog, [may(1), may(2)])

    assert preview_rewards(state, prog, noon(may(3)), "UTC") == (points(30), CHEST)


@pytest.mark.parametrize(("restarts", "expected"), [(True, points(10)), (False, points(30))])
def test_preview_rewards_after_a_break_follows_the_cycle_rule(
    restarts: bool, expected: Reward
) -> None:
    prog = program(cycle_restarts_on_break=restarts)
    state, _ = run(prog, [may(1), may(2)])

    assert preview_rewards(state, prog, noon(may(5)), "UTC") == (expected,)


def test_preview_rewards_matches_the_check_in_that_follows() -> None:
    prog = program(starting_freezes=1, max_freezes=1, milestones=(Milestone(2, (CHEST,)),))
    state, _ = run(prog, [may(1)])

    preview = preview_rewards(state, prog, noon(may(3)), "UTC")
    outcome = check_in(state, prog, may(3), noon(may(3)), "UTC")

    assert preview == tuple(g.reward for g in outcome.grants) == (points(20), CHEST)


# Program validation


def test_a_well_formed_program_is_valid() -> None:
    program(
        cycle=((points(1),), (), (Reward(RewardKind.COUPON, 1, "coupon-5"), CHEST)),
        milestones=(Milestone(7, (points(100),)), Milestone(30, ())),
        starting_freezes=1,
        freeze_earned_every_days=7,
        max_freezes=1000,
        make_up_window_days=3,
        make_up_tickets_per_month=2,
    ).validate()
    CheckInProgram(version=0).validate()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cycle": ()}, "program.cycle"),
        ({"cycle": ((),) * 367}, "program.cycle"),
        ({"cycle": ((points(0),),)}, "program.cycle[0].rewards[0].amount"),
        ({"cycle": ((), (CHEST, points(1_000_000_001)))}, "program.cycle[1].rewards[1].amount"),
        ({"cycle": ((Reward(RewardKind.COUPON, 1),),)}, "program.cycle[0].rewards[0].item_code"),
        ({"cycle": ((Reward(RewardKind.XP, 1, "x"),),)}, "program.cycle[0].rewards[0].item_code"),
        ({"milestones": (Milestone(0, ()),)}, "program.milestones[0].days"),
        ({"milestones": (Milestone(100_001, ()),)}, "program.milestones[0].days"),
        ({"milestones": (Milestone(3, ()), Milestone(3, ()))}, "program.milestones[1].days"),
        ({"milestones": (Milestone(3, (points(-1),)),)}, "program.milestones[0].rewards[0].amount"),
        ({"starting_freezes": 2, "max_freezes": 1}, "program.starting_freezes"),
        ({"starting_freezes": -1}, "program.starting_freezes"),
        ({"freeze_earned_every_days": -1}, "program.freeze_earned_every_days"),
        ({"max_freezes": 1001}, "program.max_freezes"),
        ({"make_up_window_days": -1}, "program.make_up_window_days"),
        ({"make_up_tickets_per_month": 1001}, "program.make_up_tickets_per_month"),
    ],
)
def test_an_invalid_program_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        program(**changes).validate()

    assert excinfo.value.field == field
    assert str(excinfo.value).startswith(f"{field}: ")
