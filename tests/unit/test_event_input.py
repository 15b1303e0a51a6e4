"""What TrackEvent accepts: ids, type, value, bounded attributes and a sane occurred_at."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app.rules.events import validated
from service.app.rules.views import TrackEvent
from service.domain.errors import InvalidArgument
from service.domain.rules.state import Event

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
LIMITS = {"max_age": dt.timedelta(days=7), "max_skew": dt.timedelta(minutes=5)}


def _check(cmd: TrackEvent) -> Event:
    return validated(cmd, NOW, **LIMITS)


def _field(cmd: TrackEvent) -> str:
    with pytest.raises(InvalidArgument) as excinfo:
        _check(cmd)
    return excinfo.value.field


def test_an_event_without_occurred_at_happens_now() -> None:
    event = _check(TrackEvent("ana", "purchase", "k", 5, {"sku": "b1"}))
    assert event == Event("k", "ana", "purchase", 5, {"sku": "b1"}, NOW)


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({f"k{i}": "v" for i in range(33)}, "attributes"),
        ({"": "v"}, "attributes"),
        ({"k" * 65: "v"}, "attributes"),
        ({"line\nbreak": "v"}, "attributes"),
        ({"note": "x" * 257}, "attributes[note]"),
        ({"category": "bo\x00oks"}, "attributes[category]"),
        ({"category": "bo\x1boks"}, "attributes[category]"),
        ({"category": "bo\x7foks"}, "attributes[category]"),
        ({"category": "two\nlines"}, "attributes[category]"),
    ],
)
def test_attributes_are_bounded(attributes: dict[str, str], field: str) -> None:
    assert _field(TrackEvent("ana", "purchase", "k", attributes=attributes)) == field


def test_attribute_values_may_hold_any_printable_text() -> None:
    attributes = {"title": "Crème brûlée, 50 % off — 日本語 🎉", "blank": ""}
    checked = _check(TrackEvent("ana", "purchase", "k", attributes=attributes))
    assert checked.attributes == attributes


def test_attributes_at_their_bounds_pass() -> None:
    attributes = {f"{i:0>64}": "v" * 256 for i in range(32)}
    assert (
        _check(TrackEvent("ana", "purchase", "k", attributes=attributes)).attributes == attributes
    )


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (TrackEvent("", "purchase", "k"), "user_id"),
        (TrackEvent("ana", "purchase", ""), "idempotency_key"),
        (TrackEvent("ana", "Purchase!", "k"), "type"),
        (TrackEvent("ana", "purchase", "k", 2**53 + 1), "value"),
        (TrackEvent("ana", "purchase", "k", timezone="Mars/Olympus"), "timezone"),
        (
            TrackEvent("ana", "purchase", "k", occurred_at=NOW + dt.timedelta(minutes=6)),
            "occurred_at",
        ),
        (TrackEvent("ana", "purchase", "k", occurred_at=NOW - dt.timedelta(days=8)), "occurred_at"),
    ],
)
def test_bad_fields_are_named(cmd: TrackEvent, field: str) -> None:
    assert _field(cmd) == field
