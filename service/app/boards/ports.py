"""Ports and values of the leaderboard handlers: definitions, scores, standings, Redis boards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.domain.boards import BoardDefinition


@dataclass(frozen=True, slots=True)
class BoardKey:
    """One board-period: a definition, a partition, a period and main or rookie."""

    board_id: str
    partition: str
    period_id: str
    rookie: bool = False


@dataclass(frozen=True, slots=True)
class Submission:
    """An accepted score submission as the ledger records it."""

    board: BoardDefinition
    partition: str
    period_id: str
    member_id: str
    value: int
    occurred_at: dt.datetime
    idempotency_key: str


# The revision of a ScoreRow whose member no longer has a score.
REMOVED = -1


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """A member's aggregate on one board-period; Redis holds a copy of it."""

    key: BoardKey
    member_id: str
    score: int
    reached_at_ms: int
    revision: int


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """When a member first scored on a board, and what clients show beside it."""

    first_seen_at: dt.datetime
    display_name: str | None
    avatar_url: str | None
    # Excluded from every board (as of the statement that read it).
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class StandingRow:
    rank: int
    member_id: str
    score: int


class BoardRepository(Protocol):
    """Versioned board definitions."""

    async def all_current(self) -> list[BoardDefinition]: ...

    async def get(self, board_id: str) -> BoardDefinition | None: ...

    async def add(self, board: BoardDefinition) -> BoardDefinition:
        """Store the next version of the board; return it with version and creation time."""
        ...


class ScoreRepository(Protocol):
    """The score ledger, member aggregates, finalised periods and the repair queue."""

    async def lock_period(
        self, key: BoardKey, *, exclusive: bool, member_ids: Sequence[str] = ()
    ) -> bool:
        """Lock the board-period for this transaction; return whether it is final. With
        scoring `member_ids` (shared locks only), also wait in the same round trip for any
        exclusion of those members under way; a later statement sees it."""
        ...

    async def touch_members(
        self, board_id: str, first_scores: Mapping[str, dt.datetime]
    ) -> dict[str, MemberInfo]:
        """Record that each member scored on the board at its instant (the earliest one is
        kept), in member order, in one round trip; return what is known of them."""
        ...

    async def set_metadata(
        self, board_id: str, member_id: str, display_name: str, avatar_url: str, at: dt.datetime
    ) -> None: ...

    async def member_keys(self, board_id: str, period_id: str, member_id: str) -> list[BoardKey]:
        """The partitions (main and rookie) of the period where the member has a score."""
        ...

    async def record(self, submissions: Sequence[tuple[Submission, bool]]) -> list[ScoreRow]:
        """Append submissions to one board-period, each by another member, to the ledger and
        update their aggregates (main, and rookie where its flag asks), in one round trip.

        Returns the changed aggregates: none for an idempotency key recorded before.
        """
        ...

    async def recorded(
        self, board_id: str, idempotency_key: str
    ) -> tuple[str, str, int, str] | None:
        """Member, partition, value and period of the submission recorded under the key."""
        ...

    async def used_keys(self, board_id: str, idempotency_keys: Sequence[str]) -> set[str]:
        """Those of the idempotency keys that the board's ledger has recorded."""
        ...

    async def current(self, key: BoardKey, member_id: str) -> ScoreRow | None: ...

    async def rows(self, key: BoardKey) -> list[ScoreRow]:
        """Every member's aggregate on the board-period, for a rebuild."""
        ...

    async def metadata_of(self, key: BoardKey) -> dict[str, tuple[str | None, str | None]]:
        """Display name and avatar URL of the board-period's members that have any."""
        ...

    async def checksum(self, key: BoardKey) -> tuple[int, int, int]:
        """Member count, sum and maximum of the members' revisions on the board-period."""
        ...

    async def key_state(self, key: BoardKey) -> tuple[bool, bool]:
        """Whether the board-period ever held a score, and whether it is final."""
        ...

    async def kept_keys(self, board_id: str, finalized_since: dt.datetime) -> list[BoardKey]:
        """Board-periods that held a score and are not final, or were finalised since then."""
        ...

    async def finalize(self, key: BoardKey, board: BoardDefinition) -> int:
        """Snapshot standings in rank order and mark the period final; return members."""
        ...

    async def standings(self, key: BoardKey, offset: int, limit: int) -> list[StandingRow]: ...

    async def rewarded(self, key: BoardKey, last_rank: int) -> list[StandingRow]:
        """Finalised standings ranked `last_rank` or better (ties included)."""
        ...

    async def remove(self, key: BoardKey, member_id: str) -> bool: ...

    async def open_keys(self, board_id: str, period_id: str) -> list[BoardKey]:
        """Partitions (main and rookie) of the period holding scores and not yet final."""
        ...

    async def periods(
        self, board_id: str, partition: str, below: str | None, limit: int
    ) -> list[tuple[str, bool]]:
        """(period id, final) of the partition's periods that held scores, ids descending,
        below `below` when given."""
        ...

    async def queue_repair(self, rows: Sequence[ScoreRow]) -> None: ...

    async def take_repairs(self, limit: int) -> list[ScoreRow]:
        """Claim queued repairs (skipping those another replica holds) with current rows."""
        ...


class ExclusionRepository(Protocol):
    """Members excluded from every board until reinstated."""

    async def excluded(self, member_ids: Iterable[str]) -> set[str]: ...

    async def exclude(self, member_id: str, reason: str, at: dt.datetime) -> list[BoardKey]:
        """Exclude the member and remove their scores from every period not final; the
        board-periods they were removed from."""
        ...

    async def reinstate(self, member_id: str) -> bool:
        """End the exclusion; False when the member was not excluded."""
        ...
