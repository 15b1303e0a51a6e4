"""Instants as protobuf Timestamps: the same as protobuf's own conversion, only faster."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.protobuf_time import timestamp

INSTANTS = [
    dt.datetime(2026, 11, 23, 4, 5, 6, 789_012, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # a skipped hour
    dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),  # before the epoch
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=ZoneInfo("Asia/Tokyo")),
]


@pytest.mark.parametrize("instant", INSTANTS)
def test_a_timestamp_matches_protobufs_own_conversion(instant: dt.datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(instant)

    assert timestamp(instant) == expected
