"""Instants as protobuf Timestamps, for the API and for the loyalty contract alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def timestamp(value: dt.datetime) -> Timestamp:
    """The aware instant `value` as a Timestamp.

    Integer arithmetic on the timedelta: Timestamp.FromDatetime goes through a time tuple and
    was a tenth of ListTasks' server time, which converts two instants per task.
    """
    delta = value - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def instant(message: Any, name: str) -> dt.datetime | None:
    """The Timestamp field `name` of `message` as an aware UTC instant; None when unset.

    ValueError, naming the field, when it lies outside the years 1 to 9999 that Timestamp
    allows (Python cannot represent the rest)."""
    if not message.HasField(name):
        return None
    stamp: Timestamp = getattr(message, name)
    try:
        return stamp.ToDatetime(tzinfo=dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{name}: must be a valid timestamp (years 1 to 9999)") from exc
