"""Board periods across DST changes, week starts, month ends and year ends (pure)."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leaderboard import (
    InvalidPeriod,
    OutsideSeason,
    Period,
    PeriodKind,
    PeriodSpec,
    Season,
    period_at,
    period_of_id,
)

UTC = dt.UTC
DAILY = PeriodSpec(PeriodKind.DAILY)
MONTHLY = PeriodSpec(PeriodKind.MONTHLY)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(period: Period) -> float:
    assert period.start is not None
    assert period.end is not None
    return (period.end - period.start) / dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("zone", "instant", "period_id", "start", "end", "length"),
    [
        # Spring forward: 02:00 -> 03:00 local, a 23-hour day.
        (
            "Europe/Berlin",
            utc(2026, 3, 29, 12),
            "d2026-03-29",
            utc(2026, 3, 28, 23),
            utc(2026, 3, 29, 22),
            23,
        ),
        # Fall back: 03:00 -> 02:00 local, a 25-hour day.
        (
            "Europe/Berlin",
            utc(2026, 10, 25, 12),
            "d2026-10-25",
            utc(2026, 10, 24, 22),
            utc(2026, 10, 25, 23),
            25,
        ),
        (
            "America/New_York",
            utc(2026, 3, 8, 12),
            "d2026-03-08",
            utc(2026, 3, 8, 5),
            utc(2026, 3, 9, 4),
            23,
        ),
        (
            "America/New_York",
            utc(2026, 11, 1, 12),
            "d2026-11-01",
            utc(2026, 11, 1, 4),
            utc(2026, 11, 2, 5),
            25,
        ),
        # Chile skips midnight (24:00 -> 01:00): the day starts at the change itself.
        (
            "America/Santiago",
            utc(2026, 9, 6, 12),
            "d2026-09-06",
            utc(2026, 9, 6, 4),
            utc(2026, 9, 7, 3),
            23,
        ),
        (
            "America/Santiago",
            utc(2026, 9, 6, 3, 59),
            "d2026-09-05",
            utc(2026, 9, 5, 4),
            utc(2026, 9, 6, 4),
            24,
        ),
        # ...and repeats 23:00-24:00 when it ends, so that Saturday lasts 25 hours.
        (
            "America/Santiago",
            utc(2026, 4, 5, 3, 30),
            "d2026-04-04",
            utc(2026, 4, 4, 3),
            utc(2026, 4, 5, 4),
            25,
        ),
        (
            "America/Havana",
            utc(2026, 3, 8, 12),
            "d2026-03-08",
            utc(2026, 3, 8, 5),
            utc(2026, 3, 9, 4),
            23,
        ),
        # Lord Howe moves its clocks by half an hour.
        (
            "Australia/Lord_Howe",
            utc(2026, 10, 4, 1),
            "d2026-10-04",
            utc(2026, 10, 3, 13, 30),
            utc(2026, 10, 4, 13),
            23.5,
        ),
        # Toronto jumped from 23:30 to 00:30 in 1919: midnight never happened that night.
        (
            "America/Toronto",
            utc(1919, 3, 31, 12),
            "d1919-03-31",
            utc(1919, 3, 31, 4, 30),
            utc(1919, 4, 1, 4),
            23.5,
        ),
        # Samoa skipped 30 December 2011 entirely: the 29th ends where the 31st begins.
        (
            "Pacific/Apia",
            utc(2011, 12, 30, 9, 59),
            "d2011-12-29",
            utc(2011, 12, 29, 10),
            utc(2011, 12, 30, 10),
            24,
        ),
        (
            "Pacific/Apia",
            utc(2011, 12, 30, 10),
            "d2011-12-31",
            utc(2011, 12, 30, 10),
            utc(2011, 12, 31, 10),
            24,
        ),
        # The local date, not the UTC one, names the day.
        (
            "Asia/Tokyo",
            utc(2026, 11, 22, 15),
            "d2026-11-23",
            utc(2026, 11, 22, 15),
            utc(2026, 11, 23, 15),
            24,
        ),
        (
            "UTC",
            utc(2026, 12, 31, 23, 59, 59),
            "d2026-12-31",
            utc(2026, 12, 31),
            utc(2027, 1, 1),
            24,
        ),
    ],
)
def test_daily_periods_follow_the_local_calendar(
    zone: str,
    instant: dt.datetime,
    period_id: str,
    start: dt.datetime,
    end: dt.datetime,
    length: float,
) -> None:
    period = period_at(DAILY, zone, instant)

    assert period == Period(period_id, start, end)
    assert hours(period) == length
    assert period.contains(instant)
    assert period_of_id(DAILY, zone, period_id) == period


def test_a_period_includes_its_start_and_excludes_its_end() -> None:
    zone = "Europe/Berlin"
    period = period_at(DAILY, zone, utc(2026, 10, 25, 12))
    assert period.start is not None
    assert period.end is not None

    assert period_at(DAILY, zone, period.start) == period
    assert period_at(DAILY, zone, period.end - dt.timedelta(microseconds=1)) == period
    assert period_at(DAILY, zone, period.end).period_id == "d2026-10-26"
    assert period_at(DAILY, zone, period.start - dt.timedelta(microseconds=1)).period_id == (
        "d2026-10-24"
    )


def test_instants_in_other_offsets_give_the_same_period() -> None:
    instant = utc(2026, 11, 22, 20)
    in_tokyo = instant.astimezone(ZoneInfo("Asia/Tokyo"))

    assert period_at(DAILY, "America/Chicago", in_tokyo) == period_at(
        DAILY, "America/Chicago", instant
    )


@pytest.mark.parametrize(
    ("week_start", "instant", "period_id"),
    [
        (calendar.MONDAY, utc(2026, 11, 22, 12), "w2026-11-16"),  # a Sunday
        (calendar.MONDAY, utc(2026, 11, 23, 0), "w2026-11-23"),  # the Monday itself
        (calendar.SUNDAY, utc(2026, 11, 22, 0), "w2026-11-22"),
        (calendar.SUNDAY, utc(2026, 11, 21, 23, 59), "w2026-11-15"),
        (calendar.SATURDAY, utc(2026, 11, 20, 12), "w2026-11-14"),
        # A week across the new year keeps the date of its first day.
        (calendar.MONDAY, utc(2027, 1, 1, 12), "w2026-12-28"),
    ],
)
def test_weeks_start_on_the_configured_day(
    week_start: int, instant: dt.datetime, period_id: str
) -> None:
    spec = PeriodSpec(PeriodKind.WEEKLY, week_start=week_start)

    period = period_at(spec, "UTC", instant)

    assert period.period_id == period_id
    assert period.start is not None
    assert period.end is not None
    assert period.start.weekday() == week_start
    assert period.end - period.start == dt.timedelta(days=7)
    assert period_of_id(spec, "UTC", period_id) == period


def test_a_week_across_a_dst_change_lasts_167_hours() -> None:
    spec = PeriodSpec(PeriodKind.WEEKLY)

    period = period_at(spec, "Europe/Berlin", utc(2026, 3, 26, 12))

    assert period == Period("w2026-03-23", utc(2026, 3, 22, 23), utc(2026, 3, 29, 22))
    assert hours(period) == 7 * 24 - 1


@pytest.mark.parametrize(
    ("zone", "instant", "period_id", "start", "end"),
    [
        ("UTC", utc(2028, 2, 29, 23, 59), "m2028-02", utc(2028, 2, 1), utc(2028, 3, 1)),
        ("UTC", utc(2026, 2, 28, 12), "m2026-02", utc(2026, 2, 1), utc(2026, 3, 1)),
        ("UTC", utc(2026, 12, 31, 23), "m2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        # 2027-01-01 08:00 UTC is still 31 December in Los Angeles.
        (
            "America/Los_Angeles",
            utc(2027, 1, 1, 7),
            "m2026-12",
            utc(2026, 12, 1, 8),
            utc(2027, 1, 1, 8),
        ),
        # March in Berlin starts in CET and ends in CEST.
        ("Europe/Berlin", utc(2026, 3, 15), "m2026-03", utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)),
    ],
)
def test_months_end_at_the_local_first_of_the_next_month(
    zone: str, instant: dt.datetime, period_id: str, start: dt.datetime, end: dt.datetime
) -> None:
    period = period_at(MONTHLY, zone, instant)

    assert period == Period(period_id, start, end)
    assert period_of_id(MONTHLY, zone, period_id) == period


def test_all_time_has_one_unbounded_period() -> None:
    spec = PeriodSpec(PeriodKind.ALL_TIME)

    period = period_at(spec, "Asia/Kolkata", utc(1999, 1, 1))

    assert period == Period("all", None, None)
    assert period.contains(utc(2999, 1, 1))
    assert period_of_id(spec, "UTC", "all") == period


def test_a_season_has_its_explicit_bounds_in_utc() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    season = Season("2026-winter", dt.datetime(2026, 12, 1, tzinfo=tokyo), utc(2027, 3, 1))
    spec = PeriodSpec(PeriodKind.SEASON, season=season)

    period = period_at(spec, "UTC", utc(2026, 11, 30, 15))

    assert period == Period("s2026-winter", utc(2026, 11, 30, 15), utc(2027, 3, 1))
    assert period.start is not None
    assert period.start.tzinfo is UTC
    assert period_of_id(spec, "UTC", "s2026-winter") == period
    with pytest.raises(OutsideSeason):
        period_at(spec, "UTC", utc(2026, 11, 30, 14, 59, 59))
    with pytest.raises(OutsideSeason):
        period_at(spec, "UTC", utc(2027, 3, 1))


@pytest.mark.parametrize(
    ("spec", "period_id"),
    [
        (DAILY, "w2026-11-16"),
        (DAILY, "d2026-02-30"),
        (DAILY, "d20261122"),
        (PeriodSpec(PeriodKind.WEEKLY), "w2026-11-17"),  # a Tuesday
        (MONTHLY, "m2026-13"),
        (MONTHLY, "d2026-11-01"),
        (PeriodSpec(PeriodKind.ALL_TIME), "d2026-11-01"),
    ],
)
def test_ids_of_other_periods_are_refused(spec: PeriodSpec, period_id: str) -> None:
    with pytest.raises(InvalidPeriod, match="period_id"):
        period_of_id(spec, "UTC", period_id)


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(InvalidPeriod, match="instant"):
        period_at(DAILY, "UTC", dt.datetime(2026, 1, 1))  # a naive datetime
    with pytest.raises(InvalidPeriod, match="timezone"):
        period_at(DAILY, "Mars/Olympus_Mons", utc(2026, 1, 1))
    with pytest.raises(InvalidPeriod, match="week_start"):
        PeriodSpec(PeriodKind.WEEKLY, week_start=7)
    with pytest.raises(InvalidPeriod, match="season"):
        PeriodSpec(PeriodKind.SEASON)
    with pytest.raises(InvalidPeriod, match=r"season\.end"):
        Season("s1", utc(2026, 2, 1), utc(2026, 1, 1))
    with pytest.raises(InvalidPeriod, match="season_id"):
        Season("a:b", utc(2026, 1, 1), utc(2026, 2, 1))


def test_a_clock_set_back_across_midnight_stays_in_the_day_already_begun() -> None:
    # St. John's set 00:01 back to 23:01 until 2010, so 23:01-24:00 of the 6th came twice.
    instant = utc(2010, 11, 7, 3)  # the second 23:30 of 6 November, local time

    period = period_at(DAILY, "America/St_Johns", instant)

    assert period == Period("d2010-11-07", utc(2010, 11, 7, 2, 30), utc(2010, 11, 8, 3, 30))
    assert period_at(DAILY, "America/St_Johns", utc(2010, 11, 7, 2, 29)).period_id == (
        "d2010-11-06"
    )


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        ("Europe/Berlin", utc(2026, 3, 15)),
        ("Europe/Berlin", utc(2026, 10, 10)),
        ("America/Santiago", utc(2026, 3, 25)),
        ("America/Santiago", utc(2026, 8, 25)),
        ("Australia/Lord_Howe", utc(2026, 9, 25)),
        ("America/St_Johns", utc(2010, 10, 25)),
        ("Pacific/Apia", utc(2011, 12, 15)),
        ("America/Toronto", utc(1919, 3, 20)),
    ],
)
@pytest.mark.parametrize("spec", [DAILY, PeriodSpec(PeriodKind.WEEKLY), MONTHLY])
def test_periods_tile_thirty_days_around_a_clock_change(
    zone: str, first: dt.datetime, spec: PeriodSpec
) -> None:
    period = period_at(spec, zone, first)
    for step in range(30 * 24 * 3):
        instant = first + dt.timedelta(minutes=20 * step)
        found = period_at(spec, zone, instant)
        assert found.contains(instant)
        if found != period:
            assert found.start == period.end
            assert found.period_id > period.period_id
            period = found
