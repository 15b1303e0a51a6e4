"""Instants as protobuf Timestamps, for the API and for the loyalty contract alike."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(value: dt.datetime) -> Timestamp:
    """The aware instant `value` as a Timestamp."""
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp
