"""Board periods: an instant's period id and [start, end) in UTC, in the board's own timezone.

Pure (stdlib and zoneinfo only). A local day runs from the first instant whose local date is
that day to the first instant of the next day, so it lasts 23 or 25 hours across a DST change,
and it starts at the transition when the clocks skip midnight. Periods tile time: each instant
is in exactly one, even where clocks were set back across midnight. Ids: `all`, `d2026-11-22`,
`w2026-11-16` (the date of the week's first day), `m2026-11`, `s<season id>`.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leaderboard.errors import InvalidPeriod, OutsideSeason

_SEASON_ID = re.compile(r"[A-Za-z0-9_.\-]{1,63}")
_DATED_ID = re.compile(r"([dw])(\d{4}-\d{2}-\d{2})")
_MONTH_ID = re.compile(r"m(\d{4})-(\d{2})")
ALL_TIME_ID = "all"


class PeriodKind(enum.StrEnum):
    ALL_TIME = "all_time"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    SEASON = "season"


@dataclass(frozen=True, slots=True)
class Season:
    """A season with explicit bounds: [start, end), both timezone-aware."""

    season_id: str
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if not isinstance(self.season_id, str) or not _SEASON_ID.fullmatch(self.season_id):
            raise InvalidPeriod("season_id", "must be 1..63 characters of A-Z a-z 0-9 _ . -")
        _check_aware("season.start", self.start)
        _check_aware("season.end", self.end)
        if self.start >= self.end:
            raise InvalidPeriod("season.end", "must be after season.start")


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """How a board's standings reset; `week_start` is calendar.MONDAY (0) .. calendar.SUNDAY."""

    kind: PeriodKind
    week_start: int = calendar.MONDAY
    season: Season | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, PeriodKind):
            raise InvalidPeriod("kind", "must be a PeriodKind")
        if type(self.week_start) is not int or not 0 <= self.week_start <= 6:
            raise InvalidPeriod("week_start", "must be an int 0 (Monday) .. 6 (Sunday)")
        if (self.kind is PeriodKind.SEASON) != isinstance(self.season, Season):
            raise InvalidPeriod("season", "must be a Season exactly when kind is season")


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a board; `start` and `end` are UTC, and None only for all-time."""

    period_id: str
    start: dt.datetime | None
    end: dt.datetime | None

    def contains(self, instant: dt.datetime) -> bool:
        _check_aware("instant", instant)
        after_start = self.start is None or self.start <= instant
        return after_start and (self.end is None or instant < self.end)


@contextlib.contextmanager
def _in_calendar(field: str) -> Iterator[None]:
    """Dates at the edges of the calendar (year 1, year 9999) have no neighbouring period."""
    try:
        yield
    except (OverflowError, ValueError) as exc:
        raise InvalidPeriod(field, "is too close to the limits of the calendar") from exc


def period_at(spec: PeriodSpec, timezone: str | ZoneInfo, instant: dt.datetime) -> Period:
    """The period of `spec` that contains `instant` (aware), with the board in `timezone`."""
    zone = _zone(timezone)
    _check_aware("instant", instant)
    with _in_calendar("instant"):
        return _period_at(spec, zone, instant)


def _period_at(spec: PeriodSpec, zone: ZoneInfo, instant: dt.datetime) -> Period:
    if spec.kind is PeriodKind.ALL_TIME:
        return Period(ALL_TIME_ID, None, None)
    if spec.season is not None:
        if not spec.season.start <= instant < spec.season.end:
            raise OutsideSeason(spec.season.season_id)
        return _season_period(spec.season)
    period = _calendar_period(spec, zone, instant.astimezone(zone).date())
    if period.end is not None and instant >= period.end:
        # Clocks set back across midnight (St. John's until 2010) show yesterday's date again;
        # that hour stays in the period that had already begun, so periods never overlap.
        period = _calendar_period(spec, zone, period.end.astimezone(zone).date())
    return period


def _calendar_period(spec: PeriodSpec, zone: ZoneInfo, local_day: dt.date) -> Period:
    if spec.kind is PeriodKind.DAILY:
        return _days("d", local_day, 1, zone)
    if spec.kind is PeriodKind.WEEKLY:
        first = local_day - dt.timedelta(days=(local_day.weekday() - spec.week_start) % 7)
        return _days("w", first, 7, zone)
    return _month(local_day.year, local_day.month, zone)


def period_of_id(spec: PeriodSpec, timezone: str | ZoneInfo, period_id: str) -> Period:
    """The period of `spec` named `period_id`, e.g. to find when a past period ended."""
    zone = _zone(timezone)
    with _in_calendar("period_id"):
        return _period_of_id(spec, zone, period_id)


def _period_of_id(spec: PeriodSpec, zone: ZoneInfo, period_id: str) -> Period:
    if spec.kind is PeriodKind.ALL_TIME and period_id == ALL_TIME_ID:
        return Period(ALL_TIME_ID, None, None)
    if spec.season is not None and period_id == f"s{spec.season.season_id}":
        return _season_period(spec.season)
    dated = _DATED_ID.fullmatch(period_id)
    letter, length = _DATED_KINDS.get(spec.kind, ("", 0))
    if dated and dated[1] == letter:
        first = _parse_date(dated[2], period_id)
        if length == 1 or first.weekday() == spec.week_start:
            return _days(letter, first, length, zone)
    month = _MONTH_ID.fullmatch(period_id)
    if month and spec.kind is PeriodKind.MONTHLY and 1 <= int(month[2]) <= 12:
        return _month(int(month[1]), int(month[2]), zone)
    raise InvalidPeriod("period_id", f"{period_id!r} is not a period of a {spec.kind} board")


_DATED_KINDS = {PeriodKind.DAILY: ("d", 1), PeriodKind.WEEKLY: ("w", 7)}


def day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant (UTC) whose local date in `zone` is `day` or later."""
    guess = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    local = guess.astimezone(zone)
    if local.date() == day and local.time() == dt.time():
        return guess
    # Local midnight does not exist (Toronto went from 23:30 to 00:30 in 1919): the day begins
    # at the clock change. Bisect whole seconds for it, as tzdata transitions fall on them.
    high = int(guess.timestamp())
    low = high - 2 * 86_400
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, dt.UTC).astimezone(zone).date() >= day:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.UTC)


def _days(letter: str, first: dt.date, length: int, zone: ZoneInfo) -> Period:
    end = first + dt.timedelta(days=length)
    return Period(f"{letter}{first.isoformat()}", day_start(first, zone), day_start(end, zone))


def _month(year: int, month: int, zone: ZoneInfo) -> Period:
    first = dt.date(year, month, 1)
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return Period(f"m{year:04d}-{month:02d}", day_start(first, zone), day_start(following, zone))


def _season_period(season: Season) -> Period:
    start, end = season.start.astimezone(dt.UTC), season.end.astimezone(dt.UTC)
    return Period(f"s{season.season_id}", start, end)


def _zone(timezone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(timezone, ZoneInfo):
        return timezone
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidPeriod("timezone", f"{timezone!r} is not an IANA timezone") from None


def _check_aware(field: str, instant: object) -> None:
    if not isinstance(instant, dt.datetime) or instant.utcoffset() is None:
        raise InvalidPeriod(field, "must be a timezone-aware datetime")


def _parse_date(text: str, period_id: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod("period_id", f"{period_id!r} names no calendar date") from None
