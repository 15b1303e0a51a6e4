"""The real clock; tests inject their own."""

from __future__ import annotations

import datetime as dt


class SystemClock:
    """Reads the system time as aware UTC, whatever the server's local timezone."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
