"""The check-in calendar: the status of every day of a month as seen on one day."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from service.domain.check_in import DayRecord, DayStatus, StreakState
from service.domain.check_in_calendar import CalendarStatus, month_days, month_of

UTC = dt.UTC
USER = "user-1"
MAY = dt.date(2024, 5, 1)

CHECKED_IN = CalendarStatus.CHECKED_IN
MADE_UP = CalendarStatus.MADE_UP
FROZEN = CalendarStatus.FROZEN
MISSED = CalendarStatus.MISSED
OPEN = CalendarStatus.OPEN
NONE = CalendarStatus.NONE


def may(day: int) -> dt.date:
    return dt.date(2024, 5, day)


def record(day: dt.date, status: DayStatus) -> DayRecord:
    return DayRecord(
        user_id=USER,
        day=day,
        status=status,
        at=dt.datetime(2024, 5, 31, 12, tzinfo=UTC),
        timezone="UTC",
        cycle_day=1,
        streak=1,
        streak_started_on=day,
        program_version=1,
    )


def started(first_day: dt.date | None) -> StreakState:
    return StreakState(USER, timezone="UTC", first_day=first_day)


def statuses(
    state: StreakState, records: list[DayRecord], first: dt.date, today: dt.date
) -> dict[int, CalendarStatus]:
    days = month_days(state, records, first, today)
    assert [d.day for d in days] == month_of(first)
    return {d.day.day: d.status for d in days}


def test_every_status_of_a_month_in_progress() -> None:
    records = [
        record(may(3), DayStatus.CHECKED_IN),
        record(may(4), DayStatus.FROZEN),
        record(may(5), DayStatus.CHECKED_IN),
        record(may(6), DayStatus.MADE_UP),
        record(may(8), DayStatus.CHECKED_IN),
    ]

    seen = statuses(started(may(3)), records, MAY, today=may(10))

    assert seen == {
        1: NONE,
        2: NONE,
        3: CHECKED_IN,
        4: FROZEN,
        5: CHECKED_IN,
        6: MADE_UP,
        7: MISSED,
        8: CHECKED_IN,
        9: MISSED,
        10: OPEN,
        **dict.fromkeys(range(11, 32), NONE),
    }


def test_today_shows_its_record_once_checked_in() -> None:
    records = [record(may(9), DayStatus.CHECKED_IN), record(may(10), DayStatus.CHECKED_IN)]

    seen = statuses(started(may(9)), records, MAY, today=may(10))

    assert (seen[9], seen[10], seen[11]) == (CHECKED_IN, CHECKED_IN, NONE)


def test_a_new_user_sees_only_today_open() -> None:
    seen = statuses(started(None), [], MAY, today=may(15))

    assert seen == {**dict.fromkeys(range(1, 32), NONE), 15: OPEN}


def test_a_month_before_the_first_day_is_empty() -> None:
    seen = statuses(started(may(20)), [], dt.date(2024, 4, 1), today=may(25))

    assert set(seen.values()) == {NONE}


def test_a_future_month_is_empty() -> None:
    seen = statuses(started(may(1)), [], dt.date(2024, 6, 1), today=may(25))

    assert set(seen.values()) == {NONE}


def test_a_past_month_has_no_open_day() -> None:
    records = [record(dt.date(2024, 4, 28), DayStatus.CHECKED_IN)]

    seen = statuses(started(dt.date(2024, 4, 28)), records, dt.date(2024, 4, 1), today=may(2))

    assert seen == {
        **dict.fromkeys(range(1, 28), NONE),
        28: CHECKED_IN,
        29: MISSED,
        30: MISSED,
    }


def test_a_covered_day_before_the_first_day_shows_its_record() -> None:
    records = [record(may(1), DayStatus.MADE_UP), record(may(3), DayStatus.CHECKED_IN)]

    seen = statuses(started(may(3)), records, MAY, today=may(4))

    assert (seen[1], seen[2], seen[3], seen[4]) == (MADE_UP, NONE, CHECKED_IN, OPEN)


@pytest.mark.parametrize(
    ("first", "length"),
    [
        (dt.date(2024, 2, 1), 29),
        (dt.date(2023, 2, 1), 28),
        (dt.date(2024, 4, 1), 30),
        (dt.date(2024, 12, 1), 31),
    ],
)
def test_month_of_lists_every_day_of_the_month(first: dt.date, length: int) -> None:
    days = month_of(first)

    assert len(days) == length
    assert days[0] == first
    assert [b - a for a, b in itertools.pairwise(days)] == [dt.timedelta(days=1)] * (length - 1)
    assert {d.month for d in days} == {first.month}
