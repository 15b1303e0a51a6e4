"""Where a WatchUser stream starts, and when it must say that updates were lost."""

from __future__ import annotations

import pytest

from service.app.live.ports import FeedState
from service.app.live.watch import Gap, Watchers, feed_id, start_of
from service.domain.errors import InvalidArgument, ResourceExhausted

NOW = 2_000_000_000_000
KEPT = FeedState(exists=True, last="1500-3", floor="1200-0", now_ms=NOW)
NEVER_TRIMMED = FeedState(exists=True, last="1500-3", floor="", now_ms=NOW)
GONE = FeedState(exists=False, last="", floor="", now_ms=NOW)


@pytest.mark.parametrize(
    ("after_id", "state", "start", "gap"),
    [
        ("", KEPT, "1500-3", None),  # from now on
        ("", GONE, "0-0", None),
        ("1200-0", KEPT, "1200-0", None),  # saw the newest trimmed one: nothing lost
        ("1300-0", KEPT, "1300-0", None),
        ("1500-3", KEPT, "1500-3", None),
        ("1199-9", KEPT, "1199-9", Gap("1199-9", "1200-0")),
        ("0-0", KEPT, "0-0", Gap("0-0", "1200-0")),
        ("0-0", NEVER_TRIMMED, "0-0", None),
        ("1500-4", KEPT, "1500-3", Gap("1500-3", "")),  # not an id this feed issued
        (f"{NOW + 1}-0", GONE, "0-0", Gap("0-0", "")),  # ahead of Redis's clock
        ("1400-0", GONE, "1400-0", Gap("1400-0", "")),  # expired: maybe something followed
        ("0-0", GONE, "0-0", None),
    ],
)
def test_the_start_and_the_gap(
    after_id: str, state: FeedState, start: str, gap: Gap | None
) -> None:
    assert start_of(after_id, state) == (start, gap)


def test_ids_compare_as_numbers_and_malformed_ones_are_refused() -> None:
    assert feed_id("10-0") > feed_id("9-99")
    assert feed_id(f"{2**64 - 1}-{2**64 - 1}") == (2**64 - 1, 2**64 - 1)
    for bad in ("", "10", "10-", "-1-0", "a-0", "10-0-0", f"{2**64}-0", " 1-0"):
        with pytest.raises(InvalidArgument, match="after_id: must be a feed id"):
            feed_id(bad)


def test_streams_are_bounded_per_user_and_in_all() -> None:
    watchers = Watchers(max_per_user=2, max_total=3)
    with watchers.holding("ana"), watchers.holding("ana"):
        with pytest.raises(ResourceExhausted, match="user ana has 2 live streams"):
            watchers.holding("ana").__enter__()
        with watchers.holding("bob"), pytest.raises(ResourceExhausted, match="limit of 3"):
            watchers.holding("cy").__enter__()
        assert watchers.open == 2
    assert watchers.open == 0
