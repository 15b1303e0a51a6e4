"""Leaderboard definitions as game ops configure them, and the rules they must follow."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward
from service.domain.validation import parse_timezone

MAX_SCORE = 2**53
MAX_RANK_REWARDED = 10_000
MAX_RETENTION_PERIODS = 366
MAX_SOURCES = 32
# Short enough that board, partition and ".rookie" fit the 64 characters of a Redis key part.
_BOARD_ID = re.compile(r"[a-z0-9_-]{1,32}")
_ATTRIBUTE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SortOrder(enum.StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class Aggregation(enum.StrEnum):
    SUM = "sum"
    MAX = "max"
    MIN = "min"
    LAST = "last"


class TiePolicy(enum.StrEnum):
    FIRST_TO_REACH = "first_to_reach"
    DENSE = "dense"
    COMPETITION = "competition"


class PeriodKind(enum.StrEnum):
    ALL_TIME = "all_time"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    SEASON = "season"


@dataclass(frozen=True, slots=True)
class RankReward:
    """Ranks first_rank..last_rank receive `rewards` when a period is finalised."""

    first_rank: int
    last_rank: int
    rewards: tuple[Reward, ...]


@dataclass(frozen=True, slots=True)
class BoardDefinition:
    """One version of a board."""

    board_id: str
    title: str
    sort_order: SortOrder
    aggregation: Aggregation
    tie_policy: TiePolicy
    period: PeriodKind
    timezone: str = "UTC"
    week_start: int = 1
    season_start: dt.datetime | None = None
    season_end: dt.datetime | None = None
    retention_periods: int = 1
    source_event_types: tuple[str, ...] = ()
    rookie_days: int = 0
    partition_attribute: str = ""
    rewards: tuple[RankReward, ...] = ()
    finalize_grace_seconds: int = 0
    version: int = 0
    created_at: dt.datetime | None = None

    def validate(self) -> None:
        """Raise InvalidArgument naming the first field that breaks a rule."""
        if not _BOARD_ID.fullmatch(self.board_id):
            raise InvalidArgument("board.board_id", "must be 1 to 32 characters of a-z 0-9 _ -")
        if not self.title.strip() or len(self.title) > 200:
            raise InvalidArgument("board.title", "must be 1 to 200 characters, not all blank")
        parse_timezone("board.timezone", self.timezone)
        self._validate_period()
        _check_range("board.retention_periods", self.retention_periods, 0, MAX_RETENTION_PERIODS)
        _check_range("board.rookie_days", self.rookie_days, 0, 3650)
        _check_range("board.finalize_grace_seconds", self.finalize_grace_seconds, 0, 7 * 86400)
        if len(self.source_event_types) > MAX_SOURCES:
            raise InvalidArgument("board.source_event_types", f"must have at most {MAX_SOURCES}")
        for i, name in enumerate(self.source_event_types):
            if not _ATTRIBUTE.fullmatch(name):
                raise InvalidArgument(
                    f"board.source_event_types[{i}]", "must be 1 to 64 of A-Z a-z 0-9 _ . -"
                )
        if self.partition_attribute and not _ATTRIBUTE.fullmatch(self.partition_attribute):
            raise InvalidArgument(
                "board.partition_attribute", "must be 1 to 64 of A-Z a-z 0-9 _ . -"
            )
        self._validate_rewards()

    def _validate_period(self) -> None:
        _check_range("board.period.week_start", self.week_start, 1, 7)
        if self.period is not PeriodKind.SEASON:
            return
        start, end = self.season_start, self.season_end
        if start is None or end is None or start >= end:
            raise InvalidArgument("board.period", "a season needs season_start before season_end")

    def _validate_rewards(self) -> None:
        taken: set[int] = set()
        for i, tier in enumerate(self.rewards):
            field = f"board.rewards[{i}]"
            if not 1 <= tier.first_rank <= tier.last_rank <= MAX_RANK_REWARDED:
                raise InvalidArgument(
                    field, f"needs 1 <= first_rank <= last_rank <= {MAX_RANK_REWARDED}"
                )
            ranks = set(range(tier.first_rank, tier.last_rank + 1))
            if ranks & taken:
                raise InvalidArgument(field, "overlaps an earlier rank range")
            taken |= ranks
            for j, reward in enumerate(tier.rewards):
                reward.validate(f"{field}.rewards[{j}]")

    def rewards_for(self, rank: int) -> tuple[Reward, ...]:
        """The rewards finalisation grants to `rank`."""
        for tier in self.rewards:
            if tier.first_rank <= rank <= tier.last_rank:
                return tier.rewards
        return ()

    @property
    def last_rewarded_rank(self) -> int:
        return max((tier.last_rank for tier in self.rewards), default=0)


def check_score(field: str, value: int) -> int:
    """Scores are exact integers within +-2^53 (what a Redis sorted set holds exactly)."""
    if not -MAX_SCORE <= value <= MAX_SCORE:
        raise InvalidArgument(field, "must be within +-2^53")
    return value


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidArgument(field, f"must be between {low} and {high}")


def finalization_grants(
    board: BoardDefinition,
    cause_ref: str,
    standings: Sequence[tuple[int, str]],
    granted_at: dt.datetime,
) -> tuple[Grant, ...]:
    """Grants for ranked members `(rank, member_id)` of a finalised board-period, decided
    at `granted_at`.

    The key names the board-period and the member, so finalising twice grants once.
    """
    return tuple(
        Grant(
            idempotency_key=f"{cause_ref}:rank-reward:{member_id}:{i}",
            user_id=member_id,
            reward=reward,
            reason=f"rank {rank} on {board.title}",
            cause_kind="board_finalization",
            cause_ref=cause_ref,
            definition_version=board.version,
            expires_at=reward.expires_at(granted_at),
        )
        for rank, member_id in standings
        for i, reward in enumerate(board.rewards_for(rank))
    )
