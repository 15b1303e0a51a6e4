"""Rule windows: ids and UTC bounds of daily, weekly, monthly, date-range and once windows,
in the user's calendar, across DST changes and skipped midnights."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.rules.windows import Cadence, Window, local_day, window_at

UTC = dt.UTC
NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"
TOKYO = "Asia/Tokyo"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(window: Window) -> float:
    assert window.start is not None
    assert window.end is not None
    return (window.end - window.start).total_seconds() / 3600


def test_a_daily_window_in_utc() -> None:
    window = window_at(Cadence.DAILY, utc(2026, 3, 10, 12), "UTC")
    assert window == Window("2026-03-10", utc(2026, 3, 10), utc(2026, 3, 11))


def test_a_daily_window_follows_the_users_calendar() -> None:
    # 20:00 UTC on the 10th is 05:00 on the 11th in Tokyo (UTC+9).
    window = window_at(Cadence.DAILY, utc(2026, 3, 10, 20), TOKYO)
    assert window == Window("2026-03-11", utc(2026, 3, 10, 15), utc(2026, 3, 11, 15))


def test_the_end_is_exclusive_and_the_start_inclusive() -> None:
    assert window_at(Cadence.DAILY, utc(2026, 3, 11), "UTC").window_id == "2026-03-11"
    last = utc(2026, 3, 11) - dt.timedelta(microseconds=1)
    assert window_at(Cadence.DAILY, last, "UTC").window_id == "2026-03-10"


def test_23_30_and_00_30_local_fall_in_different_daily_windows() -> None:
    # Both instants are on 2026-03-10 in UTC, an hour apart, but on two Tokyo days.
    late = window_at(Cadence.DAILY, utc(2026, 3, 10, 14, 30), TOKYO)
    early = window_at(Cadence.DAILY, utc(2026, 3, 10, 15, 30), TOKYO)
    assert (late.window_id, early.window_id) == ("2026-03-10", "2026-03-11")
    assert late.end == early.start == utc(2026, 3, 10, 15)
    # In New York (UTC-4 in summer) 23:30 on the 9th is 03:30 UTC on the 10th.
    assert window_at(Cadence.DAILY, utc(2026, 6, 10, 3, 30), NEW_YORK).window_id == "2026-06-09"
    assert window_at(Cadence.DAILY, utc(2026, 6, 10, 4, 30), NEW_YORK).window_id == "2026-06-10"


@pytest.mark.parametrize(
    ("week_start", "window_id", "start"),
    [
        (1, "week-2026-03-09", utc(2026, 3, 9)),  # Monday
        (3, "week-2026-03-04", utc(2026, 3, 4)),  # Wednesday
        (7, "week-2026-03-08", utc(2026, 3, 8)),  # Sunday
        (2, "week-2026-03-10", utc(2026, 3, 10)),  # Tuesday, the day itself
    ],
)
def test_a_weekly_window_starts_on_the_week_start(
    week_start: int, window_id: str, start: dt.datetime
) -> None:
    # 2026-03-10 is a Tuesday.
    window = window_at(Cadence.WEEKLY, utc(2026, 3, 10, 12), "UTC", week_start=week_start)
    assert window == Window(window_id, start, start + dt.timedelta(days=7))


def test_saturday_and_sunday_split_a_sunday_start_week() -> None:
    saturday = window_at(Cadence.WEEKLY, utc(2026, 3, 14, 23), "UTC", week_start=7)
    sunday = window_at(Cadence.WEEKLY, utc(2026, 3, 15, 1), "UTC", week_start=7)
    assert saturday.window_id == "week-2026-03-08"
    assert sunday.window_id == "week-2026-03-15"
    # With Monday weeks both days are in the same week.
    monday_weeks = {
        window_at(Cadence.WEEKLY, at, "UTC").window_id
        for at in (utc(2026, 3, 14, 23), utc(2026, 3, 15, 1))
    }
    assert monday_weeks == {"week-2026-03-09"}


def test_a_weekly_window_across_the_dst_change_lasts_167_hours() -> None:
    window = window_at(Cadence.WEEKLY, utc(2026, 3, 5, 12), NEW_YORK)
    assert window.window_id == "week-2026-03-02"
    assert window.start == utc(2026, 3, 2, 5)  # midnight EST
    assert window.end == utc(2026, 3, 9, 4)  # midnight EDT
    assert hours(window) == 167


@pytest.mark.parametrize(
    ("at", "timezone", "window"),
    [
        (utc(2026, 3, 10, 12), "UTC", Window("2026-03", utc(2026, 3, 1), utc(2026, 4, 1))),
        (utc(2026, 12, 31, 23), "UTC", Window("2026-12", utc(2026, 12, 1), utc(2027, 1, 1))),
        (utc(2028, 2, 29, 1), "UTC", Window("2028-02", utc(2028, 2, 1), utc(2028, 3, 1))),
        # Berlin is UTC+1 in winter and UTC+2 from 2026-03-29.
        (
            utc(2026, 3, 15),
            BERLIN,
            Window("2026-03", utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)),
        ),
        # 23:30 UTC on 31 March is already April in Berlin.
        (
            utc(2026, 3, 31, 23, 30),
            BERLIN,
            Window("2026-04", utc(2026, 3, 31, 22), utc(2026, 4, 30, 22)),
        ),
    ],
)
def test_a_monthly_window(at: dt.datetime, timezone: str, window: Window) -> None:
    assert window_at(Cadence.MONTHLY, at, timezone) == window


def test_a_date_range_window_runs_between_local_midnights() -> None:
    window = window_at(
        Cadence.DATE_RANGE,
        utc(2026, 3, 20),
        NEW_YORK,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    # Starts at midnight EST (UTC-5), ends at the midnight after 31 March, EDT (UTC-4).
    assert window == Window("2026-03-01..2026-03-31", utc(2026, 3, 1, 5), utc(2026, 4, 1, 4))


def test_a_date_range_window_is_the_same_at_any_instant() -> None:
    ids = {
        window_at(
            Cadence.DATE_RANGE,
            at,
            "UTC",
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2026, 1, 1),
        )
        for at in (utc(2025, 6, 1), utc(2026, 1, 1, 12), utc(2027, 1, 1))
    }
    assert ids == {Window("2026-01-01..2026-01-01", utc(2026, 1, 1), utc(2026, 1, 2))}


def test_the_once_window_is_unbounded() -> None:
    for at in (utc(2020, 1, 1), utc(2030, 6, 6, 6)):
        assert window_at(Cadence.ONCE, at, TOKYO) == Window("once", None, None)


@pytest.mark.parametrize(
    ("timezone", "day", "start", "length"),
    [
        (NEW_YORK, dt.date(2026, 3, 8), utc(2026, 3, 8, 5), 23),  # spring forward
        (NEW_YORK, dt.date(2026, 11, 1), utc(2026, 11, 1, 4), 25),  # fall back
        (BERLIN, dt.date(2026, 3, 29), utc(2026, 3, 28, 23), 23),
        (BERLIN, dt.date(2026, 10, 25), utc(2026, 10, 24, 22), 25),
        (NEW_YORK, dt.date(2026, 3, 9), utc(2026, 3, 9, 4), 24),  # the day after
    ],
)
def test_a_local_day_across_dst_is_23_or_25_hours(
    timezone: str, day: dt.date, start: dt.datetime, length: int
) -> None:
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    window = window_at(Cadence.DAILY, noon, timezone)
    assert window.window_id == day.isoformat()
    assert window.start == start
    assert hours(window) == length


def test_the_repeated_hour_of_a_fall_back_day_stays_in_that_day() -> None:
    # 01:30 happens twice in New York on 2026-11-01: 05:30 and 06:30 UTC.
    first = window_at(Cadence.DAILY, utc(2026, 11, 1, 5, 30), NEW_YORK)
    second = window_at(Cadence.DAILY, utc(2026, 11, 1, 6, 30), NEW_YORK)
    assert first == second
    assert first.window_id == "2026-11-01"
    # 23:30 EST on 1 November is 04:30 UTC on the 2nd.
    assert window_at(Cadence.DAILY, utc(2026, 11, 2, 4, 30), NEW_YORK).window_id == "2026-11-01"


@pytest.mark.parametrize(
    ("timezone", "day", "start", "previous_end_at"),
    [
        # Chile skips 00:00-01:00 on 2026-09-06: the day starts at 01:00 -03 = 04:00 UTC.
        ("America/Santiago", dt.date(2026, 9, 6), utc(2026, 9, 6, 4), utc(2026, 9, 6, 3, 59)),
        # Cuba skips 00:00-01:00 on 2026-03-08: the day starts at 01:00 -04 = 05:00 UTC.
        ("America/Havana", dt.date(2026, 3, 8), utc(2026, 3, 8, 5), utc(2026, 3, 8, 4, 59)),
    ],
)
def test_a_day_whose_midnight_is_skipped_starts_at_one_oclock(
    timezone: str, day: dt.date, start: dt.datetime, previous_end_at: dt.datetime
) -> None:
    window = window_at(Cadence.DAILY, start, timezone)
    assert window.window_id == day.isoformat()
    assert window.start == start
    assert window.start.astimezone(dt.UTC) == start
    assert hours(window) == 23
    # A minute earlier is 23:59 of the day before, which ends where this one starts.
    previous = window_at(Cadence.DAILY, previous_end_at, timezone)
    assert previous.window_id == (day - dt.timedelta(days=1)).isoformat()
    assert previous.end == start
    assert hours(previous) == 24


def test_a_day_whose_midnight_repeats_starts_at_the_first_one() -> None:
    # Cuba falls back from 01:00 CDT to 00:00 CST on 2026-11-01: midnight happens twice.
    window = window_at(Cadence.DAILY, utc(2026, 11, 1, 5, 30), "America/Havana")
    assert window == Window("2026-11-01", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert hours(window) == 25


def test_local_day() -> None:
    assert local_day(utc(2026, 3, 10, 14, 59), TOKYO) == dt.date(2026, 3, 10)
    assert local_day(utc(2026, 3, 10, 15), TOKYO) == dt.date(2026, 3, 11)
    assert local_day(utc(2026, 3, 10, 3), NEW_YORK) == dt.date(2026, 3, 9)
