"""A clock that tests set and move explicitly; it never sleeps."""

from __future__ import annotations

import datetime as dt


class MovableClock:
    """Implements the Clock port; `current` is the instant it reports."""

    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)
