"""Make-up rules: window, tickets per month, late check-ins and gaps re-joining streaks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from service.domain.check_in import (
    CheckInOutcome,
    CheckInProgram,
    DayRecord,
    DayStatus,
    Milestone,
    StreakState,
    check_in,
    day_to_check_in,
    view_streak,
)
from service.domain.errors import FailedPrecondition, InvalidArgument
from service.domain.make_up import check_make_up, make_up
from service.domain.rewards import Grant, Reward, RewardKind

UTC = dt.UTC
USER = "user-1"
CHEST = Reward(RewardKind.ITEM, 1, "chest")


def points(amount: int) -> Reward:
    return Reward(RewardKind.POINTS, amount)


def program(**changes: Any) -> CheckInProgram:
    """A three-day cycle with a 3-day make-up window and 2 tickets a month, plus `changes`."""
    base = CheckInProgram(
        version=3,
        cycle=((points(10),), (points(20),), (points(30),)),
        make_up_window_days=3,
        make_up_tickets_per_month=2,
    )
    return replace(base, **changes)


def may(day: int) -> dt.date:
    return dt.date(2024, 5, day)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@dataclass
class Journey:
    """One user's state and stored records, updated the way the handlers store outcomes."""

    program: CheckInProgram
    state: StreakState = field(default_factory=lambda: StreakState(USER))
    records: dict[dt.date, DayRecord] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)

    def check_in(self, *days: dt.date) -> CheckInOutcome | None:
        outcome = None
        for day in days:
            assert day_to_check_in(self.state, noon(day), "UTC") == day
            outcome = self._store(check_in(self.state, self.program, day, noon(day), "UTC"))
        return outcome

    def make_up(self, day: dt.date, today: dt.date) -> CheckInOutcome:
        return self._store(
            make_up(self.state, self.program, day, noon(today), "UTC", self.since(day))
        )

    def since(self, day: dt.date) -> dict[dt.date, DayRecord]:
        """The records a make-up of `day` is given: from the day before onwards."""
        return {d: r for d, r in self.records.items() if d >= day - dt.timedelta(days=1)}

    def streaks(self) -> list[tuple[int, int, dt.date]]:
        """(day of month, streak, streak start) of every stored record, in day order."""
        return [(d.day, r.streak, r.streak_started_on) for d, r in sorted(self.records.items())]

    def _store(self, outcome: CheckInOutcome) -> CheckInOutcome:
        for record in (*outcome.frozen, outcome.record, *outcome.renumbered):
            self.records[record.day] = record
        self.grants.extend(outcome.grants)
        self.state = outcome.state
        return outcome


def milestone_keys(grants: list[Grant] | tuple[Grant, ...]) -> list[str]:
    return [g.idempotency_key for g in grants if g.cause_kind == "check_in_milestone"]


# Refusals


def test_a_program_without_make_ups_refuses_them() -> None:
    journey = Journey(program(make_up_window_days=0, make_up_tickets_per_month=5))
    journey.check_in(may(1), may(3))

    with pytest.raises(FailedPrecondition, match="no make-up"):
        journey.make_up(may(2), may(3))


@pytest.mark.parametrize("days_ago", [0, -1, 4, 30])
def test_a_day_outside_the_window_is_an_invalid_day(days_ago: int) -> None:
    journey = Journey(program())
    journey.check_in(may(1))
    today = may(10)

    with pytest.raises(InvalidArgument) as excinfo:
        journey.make_up(today - dt.timedelta(days=days_ago), today)

    assert excinfo.value.field == "day"
    assert "last 3 days" in excinfo.value.rule


@pytest.mark.parametrize("days_ago", [1, 3])
def test_a_day_at_either_end_of_the_window_can_be_made_up(days_ago: int) -> None:
    journey = Journey(program())
    journey.check_in(may(1))
    day = may(10) - dt.timedelta(days=days_ago)

    check_make_up(journey.state, journey.program, day, noon(may(10)), "UTC", journey.since(day))
    assert journey.make_up(day, may(10)).record.status is DayStatus.MADE_UP


@pytest.mark.parametrize(
    ("covered", "status"),
    [(may(2), "checked_in"), (may(3), "frozen"), (may(5), "made_up")],
)
def test_a_covered_day_cannot_be_made_up(covered: dt.date, status: str) -> None:
    journey = Journey(program(starting_freezes=1, max_freezes=1, make_up_window_days=5))
    journey.check_in(may(2), may(4))  # May 3 is frozen
    journey.make_up(may(5), may(6))

    with pytest.raises(FailedPrecondition, match=f"already {status}"):
        journey.make_up(covered, may(6))


# Tickets


def test_make_up_tickets_run_out_within_a_month() -> None:
    journey = Journey(program(make_up_tickets_per_month=1))
    journey.check_in(may(1), may(3), may(5))
    journey.make_up(may(4), may(5))

    assert (journey.state.make_up_month, journey.state.make_ups_used) == ("2024-05", 1)
    assert view_streak(journey.state, journey.program, noon(may(5)), "UTC").make_up_tickets == 0
    with pytest.raises(FailedPrecondition, match="no make-up tickets"):
        journey.make_up(may(2), may(5))


@pytest.mark.parametrize(
    ("now", "timezone"),
    [
        (dt.datetime(2024, 6, 1, 0, 0, tzinfo=UTC), "UTC"),
        (dt.datetime(2024, 5, 31, 15, 0, tzinfo=UTC), "Asia/Tokyo"),  # Jun 1, 00:00 JST
    ],
)
def test_make_up_tickets_reset_in_the_next_local_month(now: dt.datetime, timezone: str) -> None:
    journey = Journey(program(make_up_tickets_per_month=1))
    journey.check_in(may(26), may(28))
    journey.make_up(may(27), may(28))

    assert view_streak(journey.state, journey.program, now, timezone).make_up_tickets == 1
    outcome = make_up(
        journey.state, journey.program, may(30), now, timezone, journey.since(may(30))
    )
    assert (outcome.state.make_up_month, outcome.state.make_ups_used) == ("2024-06", 1)


# A late check-in after the latest day


def test_a_make_up_after_the_latest_check_in_is_a_late_check_in() -> None:
    journey = Journey(program())
    journey.check_in(may(1), may(2))

    outcome = journey.make_up(may(3), may(4))

    record = outcome.record
    assert (record.day, record.status, record.cycle_day, record.streak) == (
        may(3),
        DayStatus.MADE_UP,
        3,
        3,
    )
    assert [(g.idempotency_key, g.reward) for g in outcome.grants] == [
        ("check_in:user-1:2024-05-03:cycle:0", points(30))
    ]
    assert (outcome.state.last_day, outcome.state.current, outcome.state.make_ups_used) == (
        may(3),
        3,
        1,
    )


def test_today_continues_the_streak_after_a_late_check_in() -> None:
    journey = Journey(program())
    journey.check_in(may(1), may(2))
    journey.make_up(may(3), may(4))

    outcome = journey.check_in(may(4))

    assert outcome is not None
    assert (outcome.record.streak, outcome.record.cycle_day, outcome.frozen) == (4, 1, ())


def test_a_first_ever_make_up_starts_the_streak() -> None:
    journey = Journey(program(starting_freezes=1, max_freezes=1))

    outcome = journey.make_up(may(3), may(4))

    assert (outcome.record.status, outcome.record.streak) == (DayStatus.MADE_UP, 1)
    assert (outcome.state.first_day, outcome.state.freezes) == (may(3), 1)
    assert journey.check_in(may(4)) is not None
    assert journey.state.current == 2


# Filling a gap inside the history


def test_filling_a_gap_re_joins_the_streaks_around_it() -> None:
    journey = Journey(program(make_up_window_days=5))
    journey.check_in(may(1), may(2), may(3), may(5), may(6))

    outcome = journey.make_up(may(4), may(6))

    record = outcome.record
    assert (record.status, record.streak, record.streak_started_on, record.cycle_day) == (
        DayStatus.MADE_UP,
        4,
        may(1),
        0,
    )
    assert [(r.day, r.status, r.streak, r.streak_started_on) for r in outcome.renumbered] == [
        (may(5), DayStatus.CHECKED_IN, 5, may(1)),
        (may(6), DayStatus.CHECKED_IN, 6, may(1)),
    ]
    assert [r.cycle_day for r in outcome.renumbered] == [1, 2]  # the cycle is left alone
    assert outcome.grants == ()
    state = outcome.state
    assert (state.current, state.longest, state.streak_started_on) == (6, 6, may(1))
    assert (state.last_day, state.make_ups_used) == (may(6), 1)


def test_a_milestone_reached_by_re_joining_is_granted_once() -> None:
    journey = Journey(program(make_up_window_days=5, milestones=(Milestone(5, (CHEST,)),)))
    journey.check_in(may(1), may(2), may(3), may(5), may(6))

    outcome = journey.make_up(may(4), may(6))
    journey.check_in(may(7))

    assert [(g.idempotency_key, g.reward) for g in outcome.grants] == [
        ("check_in:user-1:streak:2024-05-01:milestone:5:0", CHEST)
    ]
    assert outcome.grants[0].cause_ref == "check_in:user-1:2024-05-06"
    assert milestone_keys(journey.grants) == ["check_in:user-1:streak:2024-05-01:milestone:5:0"]


def test_a_milestone_reached_in_the_later_part_is_not_granted_again() -> None:
    journey = Journey(program(make_up_window_days=5, milestones=(Milestone(2, (CHEST,)),)))
    journey.check_in(may(1), may(3), may(4))

    outcome = journey.make_up(may(2), may(4))

    assert outcome.state.current == 4
    assert outcome.grants == ()
    assert milestone_keys(journey.grants) == ["check_in:user-1:streak:2024-05-03:milestone:2:0"]


def test_frozen_days_bridge_a_re_joined_streak_without_counting() -> None:
    journey = Journey(program(starting_freezes=1, max_freezes=1, make_up_window_days=5))
    journey.check_in(may(1), may(4), may(6))  # May 2-3: too many to freeze; May 5: frozen

    outcome = journey.make_up(may(3), may(6))

    assert journey.records[may(5)].status is DayStatus.FROZEN
    assert journey.streaks() == [
        (1, 1, may(1)),
        (3, 1, may(3)),
        (4, 2, may(3)),
        (5, 2, may(3)),
        (6, 3, may(3)),
    ]
    assert outcome.state.current == 3


def test_making_up_the_day_before_the_first_check_in_extends_the_streak_backwards() -> None:
    journey = Journey(program())
    journey.check_in(may(2), may(3))

    outcome = journey.make_up(may(1), may(3))

    assert journey.streaks() == [(1, 1, may(1)), (2, 2, may(1)), (3, 3, may(1))]
    assert (outcome.state.current, outcome.state.first_day) == (3, may(1))


def test_filling_a_gap_does_not_grant_a_milestone_the_earlier_part_reached() -> None:
    journey = Journey(program(make_up_window_days=5, milestones=(Milestone(3, (CHEST,)),)))
    journey.check_in(may(1), may(2), may(3), may(5))
    earlier = list(journey.grants)

    outcome = journey.make_up(may(4), may(5))

    assert outcome.state.current == 5
    assert milestone_keys(earlier) == ["check_in:user-1:streak:2024-05-01:milestone:3:0"]
    assert milestone_keys(outcome.grants) == []


def test_a_milestone_is_never_granted_twice_in_one_streak() -> None:
    journey = Journey(program(make_up_window_days=5, milestones=(Milestone(2, (CHEST,)),)))
    journey.check_in(may(1), may(3), may(4))  # May 3-4 earn the 2-day milestone
    journey.make_up(may(2), may(4))  # one streak May 1-4
    journey.check_in(may(6))  # May 5 missed

    journey.make_up(may(5), may(6))  # one streak May 1-6

    assert journey.state.current == 6
    assert milestone_keys(journey.grants) == ["check_in:user-1:streak:2024-05-03:milestone:2:0"]


def test_a_make_up_renumbers_the_days_up_to_the_next_gap() -> None:
    journey = Journey(program(make_up_window_days=5))
    journey.check_in(may(1), may(2), may(3), may(5), may(6), may(8))

    outcome = journey.make_up(may(4), may(8))

    assert [(r.day, r.streak, r.streak_started_on) for r in outcome.renumbered] == [
        (may(5), 5, may(1)),
        (may(6), 6, may(1)),
    ]
    assert (outcome.state.current, outcome.state.longest) == (1, 6)


def test_filling_every_gap_re_joins_the_whole_history() -> None:
    journey = Journey(program(make_up_window_days=5, make_up_tickets_per_month=5))
    journey.check_in(may(1), may(2), may(3), may(5), may(6), may(8), may(9))

    journey.make_up(may(4), may(9))
    journey.make_up(may(7), may(9))

    assert (journey.state.current, journey.state.streak_started_on) == (9, may(1))
    assert [streak for _, streak, _ in journey.streaks()] == list(range(1, 10))
