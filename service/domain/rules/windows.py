"""Time windows of tasks, caps and boosts, in the user's own calendar."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import zoneinfo
from dataclasses import dataclass


class Cadence(enum.StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    DATE_RANGE = "date_range"


@dataclass(frozen=True, slots=True)
class Window:
    """One window: its id is stable for every instant inside it; end is exclusive."""

    window_id: str
    start: dt.datetime | None
    end: dt.datetime | None


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC instant a local day starts; a day starting in a DST gap starts at its end."""
    naive = dt.datetime.combine(day, dt.time())
    # fold=0 picks the earlier of two instants when midnight repeats; a skipped midnight
    # is normalised forward by the round trip through UTC.
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def window_at(
    cadence: Cadence,
    at: dt.datetime,
    timezone: str,
    *,
    week_start: int = 1,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> Window:
    """The window of `cadence` holding the instant `at`, in `timezone`.

    week_start is an ISO weekday (1 = Monday). A date range runs from the local midnight
    starting `starts_on` to the one ending `ends_on`.
    """
    if cadence is Cadence.ONCE:
        return _ONCE
    return _window_of_day(
        cadence, local_day(at, timezone), timezone, week_start, starts_on, ends_on
    )


_ONCE = Window("once", None, None)


# Every instant of a local day is in the same window, so windows are cached by day: rules and
# players' task lists ask for the same few thousand again and again.
@functools.lru_cache(maxsize=4096)
def _window_of_day(
    cadence: Cadence,
    day: dt.date,
    timezone: str,
    week_start: int,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
) -> Window:
    zone = zoneinfo.ZoneInfo(timezone)
    if cadence is Cadence.DATE_RANGE:
        assert starts_on is not None
        assert ends_on is not None
        return Window(
            f"{starts_on}..{ends_on}",
            local_midnight(starts_on, zone),
            local_midnight(ends_on + dt.timedelta(days=1), zone),
        )
    if cadence is Cadence.DAILY:
        first, following = day, day + dt.timedelta(days=1)
        window_id = day.isoformat()
    elif cadence is Cadence.WEEKLY:
        first = day - dt.timedelta(days=(day.isoweekday() - week_start) % 7)
        following = first + dt.timedelta(days=7)
        window_id = f"week-{first.isoformat()}"
    else:
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        window_id = first.strftime("%Y-%m")
    return Window(window_id, local_midnight(first, zone), local_midnight(following, zone))


def local_day(at: dt.datetime, timezone: str) -> dt.date:
    return at.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def earlier(window_id: str, than: str) -> bool:
    """Whether `window_id` names a window before the one `than` names.

    The ids of one cadence have one length and sort in time order; ids of two cadences (a
    definition whose cadence changed) are not comparable, and never count as earlier.
    """
    return len(window_id) == len(than) and window_id < than
