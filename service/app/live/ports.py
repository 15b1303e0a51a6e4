"""Live feedback: the updates a user's feed carries and the ports that publish and read it.

To add a kind of update: a dataclass here joined to `Update`, a field of the `kind` oneof of
`LiveUpdate` in live.proto, and a case in `live_convert.update_to_pb`. Handlers publish with
`Feed.publish(user_id, updates)` after their commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from service.app.boards.ports import BoardKey
from service.app.leagues.ports import PastSeason
from service.domain.check_in import DayRecord
from service.domain.duels import Duel
from service.domain.goals import GoalChange
from service.domain.rewards import Grant
from service.domain.rules.state import BadgeUnlock, LevelUp, TaskChange, TaskCompletion


@dataclass(frozen=True, slots=True)
class SeasonEnded:
    """A league season the user played ended."""

    league_id: str
    season: PastSeason


@dataclass(frozen=True, slots=True)
class CheckedIn:
    """A check-in (or make-up) was recorded."""

    record: DayRecord
    streak: int


# What a user's feed carries; each kind is one field of LiveUpdate's oneof.
Update: TypeAlias = (
    TaskChange
    | TaskCompletion
    | BadgeUnlock
    | LevelUp
    | Grant
    | CheckedIn
    | Duel
    | SeasonEnded
    | GoalChange
)


@dataclass(frozen=True, slots=True)
class Stamped:
    """An update and the instant the service recorded it."""

    update: Update
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """An update as stored in a feed: its position and its encoded body."""

    id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class FeedState:
    """What a feed holds: its newest position and the newest one removed (trimmed or
    expired), as "<ms>-<seq>" ids; `exists` is False when Redis holds nothing of it."""

    exists: bool
    last: str
    floor: str
    # Redis's clock, in milliseconds: an id ahead of it was never issued.
    now_ms: int


class Feed(Protocol):
    """Publishes updates to users' feeds after the transaction that decided them committed.

    The feed is a live copy: Postgres holds the truth. A failure is logged, never raised,
    since the caller's change is committed already.
    """

    async def publish(self, user_id: str, updates: Sequence[Stamped]) -> None: ...

    async def publish_many(self, updates: Mapping[str, Sequence[Stamped]]) -> None:
        """Several users' updates, in as few round trips as the store allows."""
        ...

    async def boards_changed(self, keys: Collection[BoardKey]) -> None:
        """Tell watchers that ranks on these board-periods may have moved."""
        ...

    async def erase(self, user_id: str) -> None:
        """Delete the user's feed (raises when the store is unreachable)."""
        ...


class FeedReader(Protocol):
    """Reads a user's feed for one watcher; a blocking read holds one connection."""

    async def state(self, user_id: str) -> FeedState: ...

    async def read(self, user_id: str, after: str, block_ms: int) -> list[FeedEntry]:
        """Entries after position `after`, waiting up to `block_ms` for the first one."""
        ...

    async def floor(self, user_id: str) -> str:
        """The newest position trimmed away, "" when none was."""
        ...

    async def board_versions(self, keys: Sequence[BoardKey]) -> list[int]:
        """A number per board-period that grows whenever its scores change."""
        ...


class NoFeed:
    """A Feed that publishes nothing: for handlers run without live feedback."""

    async def publish(self, user_id: str, updates: Sequence[Stamped]) -> None:
        return None

    async def publish_many(self, updates: Mapping[str, Sequence[Stamped]]) -> None:
        return None

    async def boards_changed(self, keys: Collection[BoardKey]) -> None:
        return None

    async def erase(self, user_id: str) -> None:
        return None


NO_FEED: Feed = NoFeed()
