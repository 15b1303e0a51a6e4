"""Board configuration and the frozen values the library returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from leaderboard.errors import InvalidArgument
from leaderboard.keys import check_part

_DAY_MS = 86_400_000
_MAX_IDEMPOTENCY_TTL_MS = 30 * _DAY_MS


class SortOrder(enum.StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Aggregation(enum.StrEnum):
    """How a submission combines with the member's current score."""

    SUM = "sum"  # add the submitted value (an increment; negative values subtract)
    MAX = "max"  # keep the numerically larger
    MIN = "min"  # keep the numerically smaller
    LAST = "last"  # replace with the submitted value


class TiePolicy(enum.StrEnum):
    """How members with equal scores are ranked."""

    FIRST_TO_REACH = "first_to_reach"  # unique ranks; earlier reached_at ranks higher
    DENSE = "dense"  # 1, 1, 2
    COMPETITION = "competition"  # 1, 1, 3


@dataclass(frozen=True, slots=True)
class BoardConfig:
    """What a board is; the period id and the key prefix are given beside it."""

    board_id: str
    sort_order: SortOrder = SortOrder.HIGHER_IS_BETTER
    aggregation: Aggregation = Aggregation.SUM
    tie_policy: TiePolicy = TiePolicy.FIRST_TO_REACH
    idempotency_ttl_ms: int = _DAY_MS

    def __post_init__(self) -> None:
        check_part("board_id", self.board_id)
        # Plain strings would silently reach Lua as unknown aggregation names.
        for field, value, kind in (
            ("sort_order", self.sort_order, SortOrder),
            ("aggregation", self.aggregation, Aggregation),
            ("tie_policy", self.tie_policy, TiePolicy),
        ):
            if not isinstance(value, kind):
                raise InvalidArgument(field, f"must be a {kind.__name__}")
        ttl = self.idempotency_ttl_ms
        if type(ttl) is not int or not 1000 <= ttl <= _MAX_IDEMPOTENCY_TTL_MS:
            raise InvalidArgument("idempotency_ttl_ms", "must be an int from 1 s to 30 days")


@dataclass(frozen=True, slots=True)
class MemberMetadata:
    """What a client shows beside a member; stored per board-period."""

    display_name: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One member's place on a board (or among friends)."""

    member_id: str
    score: int
    rank: int
    metadata: MemberMetadata | None


@dataclass(frozen=True, slots=True)
class MemberRank:
    """A member's place and percentile on the whole board.

    `percentile` is the share of the board's members who are not ranked ahead of this member,
    as a percentage in (0, 100]: 100 * (member_count - ahead) / member_count. "Ahead" means a
    strictly better score, or, under first_to_reach, an earlier place in the unique order; so the
    leader and everyone tied with the leader under dense or competition are at 100.0.
    """

    member_id: str
    score: int
    rank: int
    percentile: float
    member_count: int
    metadata: MemberMetadata | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the standings and the board's size at the same instant."""

    entries: tuple[Entry, ...]
    page_number: int
    page_size: int
    member_count: int

    @property
    def page_count(self) -> int:
        return -(-self.member_count // self.page_size)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The member's score and rank right after a submit (or the first one, if `replayed`)."""

    member_id: str
    score: int
    rank: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class LoadEntry:
    """A member's final score of a board-period, as rebuilt from the ledger.

    `reached_at_ms` must be the `at_ms` of the submission that last changed the member's score:
    that is what the incremental path records, so ties rebuild identically. `revision`, if
    given, is recorded as if by a `put`, so a copy older than the load cannot overwrite it;
    `metadata`, if given, replaces the member's.
    """

    member_id: str
    score: int
    reached_at_ms: int
    revision: int | None = None
    metadata: MemberMetadata | None = None
