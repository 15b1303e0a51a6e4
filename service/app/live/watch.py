"""WatchUser: a user's feed from a position on, with gaps, heartbeats and rank changes."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from service.app.boards.mapping import BoardRef
from service.app.boards.scores import Boards
from service.app.live.ports import FeedEntry, FeedReader, FeedState
from service.app.live.ranks import RankChanged, RankWatch, checked_refs
from service.domain.errors import InvalidArgument, ResourceExhausted
from service.domain.validation import check_id

_FEED_ID = re.compile(r"(\d{1,20})-(\d{1,20})")
START = "0-0"


@dataclass(frozen=True, slots=True)
class WatchUser:
    user_id: str
    # The last position the caller saw; empty starts from now.
    after_id: str = ""
    boards: Sequence[BoardRef] = ()


@dataclass(frozen=True, slots=True)
class LiveSettings:
    heartbeat_seconds: float
    rank_interval_seconds: float
    max_streams_per_user: int
    max_streams: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    position: str


@dataclass(frozen=True, slots=True)
class Gap:
    """Updates after the caller's position are gone; `kept_after` is where nothing was."""

    position: str
    kept_after: str


@dataclass(frozen=True, slots=True)
class Ranked:
    position: str
    change: RankChanged


Watched = FeedEntry | Heartbeat | Gap | Ranked


def feed_id(value: str, field: str = "after_id") -> tuple[int, int]:
    """A feed position as (milliseconds, sequence); InvalidArgument when malformed."""
    match = _FEED_ID.fullmatch(value)
    if match is None or int(match[1]) >= 2**64 or int(match[2]) >= 2**64:
        raise InvalidArgument(field, "must be a feed id like 1764771234567-0")
    return int(match[1]), int(match[2])


def start_of(after_id: str, state: FeedState) -> tuple[str, Gap | None]:
    """Where to read from, and the gap to report first (if any)."""
    last = state.last or START
    if not after_id:
        return last, None
    after = feed_id(after_id)
    if after[0] > state.now_ms or (state.exists and after > feed_id(last, "last")):
        # Not a position of this feed: continue after its newest, and say so.
        return last, Gap(last, "")
    if not state.exists:
        # Everything Redis held expired: nothing may have followed, but it cannot tell.
        return after_id, (Gap(after_id, "") if after != (0, 0) else None)
    floor = state.floor or START
    if after < feed_id(floor, "floor"):
        return after_id, Gap(after_id, floor)
    return after_id, None


class Watchers:
    """The streams open in this process, bounded per user and in all."""

    def __init__(self, max_per_user: int, max_total: int) -> None:
        self._max_per_user = max_per_user
        self._max_total = max_total
        self._open: Counter[str] = Counter()

    @property
    def open(self) -> int:
        return sum(self._open.values())

    @contextlib.contextmanager
    def holding(self, user_id: str) -> Iterator[None]:
        """One stream of the user; ResourceExhausted past a bound."""
        if self._open[user_id] >= self._max_per_user:
            raise ResourceExhausted(
                f"user {user_id} has {self._max_per_user} live streams open already; "
                "close one first"
            )
        if self.open >= self._max_total:
            raise ResourceExhausted(
                f"the server is at its limit of {self._max_total} live streams; retry"
            )
        self._open[user_id] += 1
        try:
            yield
        finally:
            self._open[user_id] -= 1
            if not self._open[user_id]:
                del self._open[user_id]


async def watch(
    cmd: WatchUser,
    *,
    reader: FeedReader,
    boards: Boards,
    watchers: Watchers,
    settings: LiveSettings,
    monotonic: Callable[[], float],
) -> AsyncGenerator[Watched, None]:
    """The user's updates after `cmd.after_id`, until the caller stops iterating."""
    check_id("user_id", cmd.user_id)
    if cmd.after_id:
        feed_id(cmd.after_id)
    refs = await checked_refs(cmd.boards, boards)
    with watchers.holding(cmd.user_id):
        position, gap = start_of(cmd.after_id, await reader.state(cmd.user_id))
        if gap is not None:
            yield gap
        # At once: the caller learns the stream is open and the position to resume from.
        yield Heartbeat(position)
        ranks = RankWatch(cmd.user_id, refs, boards) if refs else None
        follow = _Follow(cmd.user_id, position, reader, ranks, settings, monotonic)
        # A gap at the start is not reported again by the first read.
        follow.reported = gap.position if gap is not None else None
        async for item in follow.items():
            yield item


class _Follow:
    """One stream after its start: the position, and when the next heartbeat and rank check
    are due. Each blocking read waits until the earlier of the two at most."""

    def __init__(
        self, user_id: str, position: str, reader: FeedReader, ranks: RankWatch | None,
        settings: LiveSettings, monotonic: Callable[[], float],
    ) -> None:  # fmt: skip
        self.user_id, self.position, self.reader, self.ranks = user_id, position, reader, ranks
        self.settings, self.monotonic = settings, monotonic
        self.reported: str | None = None
        self.beat_at = monotonic() + settings.heartbeat_seconds
        self.rank_at = monotonic()

    async def items(self) -> AsyncGenerator[Watched, None]:
        while True:
            if self.ranks is not None and self.monotonic() >= self.rank_at:
                self.rank_at = self.monotonic() + self.settings.rank_interval_seconds
                for change in await self.ranks.changes(self.reader):
                    self._beaten()
                    yield Ranked(self.position, change)
            due = self.beat_at if self.ranks is None else min(self.beat_at, self.rank_at)
            wait = _millis(due - self.monotonic())
            entries = await self.reader.read(self.user_id, self.position, wait)
            if (gap := await self._gap_before(entries)) is not None:
                yield gap
            for entry in entries:
                self.position = entry.id
                yield entry
            if entries:
                self._beaten()
            elif self.monotonic() >= self.beat_at:
                self._beaten()
                yield Heartbeat(self.position)

    async def _gap_before(self, entries: Sequence[FeedEntry]) -> Gap | None:
        if not entries or self.position == self.reported:
            return None
        return await _overtaken(self.reader, self.user_id, self.position)

    def _beaten(self) -> None:
        """Something was sent: the next heartbeat is due an interval from now."""
        self.beat_at = self.monotonic() + self.settings.heartbeat_seconds


async def _overtaken(reader: FeedReader, user_id: str, position: str) -> Gap | None:
    """A gap when trimming removed updates after `position` before they were read (a burst
    longer than the feed keeps); also, rarely, when it removed ones just read."""
    floor = await reader.floor(user_id)
    if floor and feed_id(position, "position") < feed_id(floor, "floor"):
        return Gap(position, floor)
    return None


def _millis(seconds: float) -> int:
    """A blocking read's wait: at least 1 ms, since 0 would block without end."""
    return max(1, int(seconds * 1000))


@dataclass(frozen=True, slots=True)
class Live:
    """What serving WatchUser takes: the feeds' reader, the open streams, the settings."""

    reader: FeedReader
    watchers: Watchers
    settings: LiveSettings
    close: Callable[[], Awaitable[None]]
