"""Standalone async leaderboard library on Redis sorted sets; it never imports the service."""

from leaderboard.board import Leaderboard, Leaderboards, Put
from leaderboard.errors import (
    IdempotencyConflict,
    InvalidArgument,
    InvalidPeriod,
    LeaderboardError,
    LimitExceeded,
    OutsideSeason,
    ScoreOutOfRange,
    ScoreOverflow,
    UnexpectedReply,
)
from leaderboard.models import (
    Aggregation,
    BoardConfig,
    Entry,
    LoadEntry,
    MemberMetadata,
    MemberRank,
    Page,
    SortOrder,
    SubmitResult,
    TiePolicy,
)
from leaderboard.periods import Period, PeriodKind, PeriodSpec, Season, period_at, period_of_id

__all__ = [
    "Aggregation",
    "BoardConfig",
    "Entry",
    "IdempotencyConflict",
    "InvalidArgument",
    "InvalidPeriod",
    "Leaderboard",
    "LeaderboardError",
    "Leaderboards",
    "LimitExceeded",
    "LoadEntry",
    "MemberMetadata",
    "MemberRank",
    "OutsideSeason",
    "Page",
    "Period",
    "PeriodKind",
    "PeriodSpec",
    "Put",
    "ScoreOutOfRange",
    "ScoreOverflow",
    "Season",
    "SortOrder",
    "SubmitResult",
    "TiePolicy",
    "UnexpectedReply",
    "period_at",
    "period_of_id",
]
