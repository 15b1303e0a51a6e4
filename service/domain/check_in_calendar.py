"""A month of one user's check-in calendar: covered, missed, open and empty days."""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.check_in import DayRecord, StreakState


class CalendarStatus(enum.StrEnum):
    CHECKED_IN = "checked_in"
    MADE_UP = "made_up"
    FROZEN = "frozen"
    MISSED = "missed"
    OPEN = "open"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: dt.date
    status: CalendarStatus


def month_of(first: dt.date) -> list[dt.date]:
    """Every day of the month that starts on `first`."""
    length = calendar.monthrange(first.year, first.month)[1]
    return [first.replace(day=d) for d in range(1, length + 1)]


def month_days(
    state: StreakState, records: Iterable[DayRecord], first: dt.date, today: dt.date
) -> tuple[CalendarDay, ...]:
    """Status of each day of the month starting on `first`, as seen on `today`."""
    covered = {record.day: CalendarStatus(record.status) for record in records}
    return tuple(CalendarDay(day, _status(day, covered, state, today)) for day in month_of(first))


def _status(
    day: dt.date, covered: dict[dt.date, CalendarStatus], state: StreakState, today: dt.date
) -> CalendarStatus:
    if day in covered:
        return covered[day]
    if day == today:
        return CalendarStatus.OPEN
    if day > today or state.first_day is None or day < state.first_day:
        return CalendarStatus.NONE
    return CalendarStatus.MISSED
