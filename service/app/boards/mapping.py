"""How a board definition and a board reference map onto the leaderboard library."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

import leaderboard as lb
from service.app.boards.ports import BoardKey
from service.domain.boards import BoardDefinition, PeriodKind
from service.domain.errors import FailedPrecondition, InvalidArgument

MAX_PARTITION_LENGTH = 24
_PARTITION = re.compile(r"[A-Za-z0-9_-]{1,24}")
# The last instant Python's datetimes tell apart from a period's exclusive end.
_INSTANT = dt.timedelta(microseconds=1)
_PERIOD_KINDS = {
    PeriodKind.ALL_TIME: lb.PeriodKind.ALL_TIME,
    PeriodKind.DAILY: lb.PeriodKind.DAILY,
    PeriodKind.WEEKLY: lb.PeriodKind.WEEKLY,
    PeriodKind.MONTHLY: lb.PeriodKind.MONTHLY,
    PeriodKind.SEASON: lb.PeriodKind.SEASON,
}


@dataclass(frozen=True, slots=True)
class BoardRef:
    """A caller's reference to a board-period; an empty period_id means the current one."""

    board_id: str
    partition: str = ""
    rookie: bool = False
    period_id: str = ""


# Definitions are immutable values (a change is a new version), so what is derived from one
# is cached on the definition itself: building and validating it per call showed in profiles.
_CACHED_BOARDS = 1024


@functools.lru_cache(maxsize=_CACHED_BOARDS)
def period_spec(board: BoardDefinition) -> lb.PeriodSpec:
    season = None
    if board.period is PeriodKind.SEASON:
        assert board.season_start is not None
        assert board.season_end is not None
        season = lb.Season(f"{board.season_start:%Y%m%d%H%M}", board.season_start, board.season_end)
    # The definition counts weekdays from 1 = Monday; the library from calendar.MONDAY = 0.
    week_start = calendar.MONDAY + board.week_start - 1
    return lb.PeriodSpec(_PERIOD_KINDS[board.period], week_start=week_start, season=season)


def period_at(board: BoardDefinition, instant: dt.datetime) -> lb.Period:
    try:
        return lb.period_at(period_spec(board), board.timezone, instant)
    except lb.OutsideSeason as exc:
        raise FailedPrecondition(f"{instant.isoformat()} is outside the season") from exc


def running_period(board: BoardDefinition, now: dt.datetime) -> lb.Period | None:
    """The board's current period: the one running at `now`, the last one of a season that
    has ended, or None before a season starts."""
    if board.period is PeriodKind.SEASON:
        assert board.season_start is not None
        assert board.season_end is not None
        if now < board.season_start:
            return None
        if now >= board.season_end:
            return period_at(board, board.season_end - _INSTANT)
    return period_at(board, now)


def current_period(board: BoardDefinition, now: dt.datetime) -> lb.Period:
    """The board's current period (see `running_period`); FailedPrecondition before a season."""
    period = running_period(board, now)
    if period is None:
        assert board.season_start is not None
        raise FailedPrecondition(
            f"board {board.board_id} has no period yet: its season starts at "
            f"{board.season_start.astimezone(dt.UTC).isoformat()}"
        )
    return period


def period_of(board: BoardDefinition, ref: BoardRef, now: dt.datetime) -> lb.Period:
    """The period a reference names, or the board's current one."""
    if not ref.period_id:
        return current_period(board, now)
    try:
        return lb.period_of_id(period_spec(board), board.timezone, ref.period_id)
    except lb.InvalidPeriod as exc:
        raise InvalidArgument("board.period_id", exc.rule) from exc


def check_partition(board: BoardDefinition, partition: str, field: str) -> str:
    """A partition must be given exactly when the board is partitioned."""
    if not board.partition_attribute:
        if partition:
            raise InvalidArgument(
                field, f"must be empty: board {board.board_id} is not partitioned"
            )
        return partition
    if not _PARTITION.fullmatch(partition):
        raise InvalidArgument(field, f"must be 1 to {MAX_PARTITION_LENGTH} of A-Z a-z 0-9 _ -")
    return partition


def config(board: BoardDefinition, key: BoardKey) -> lb.BoardConfig:
    """The library's view of one partition (main or rookie) of the board."""
    return _config(board, key.partition, key.rookie)


@functools.lru_cache(maxsize=4 * _CACHED_BOARDS)
def _config(board: BoardDefinition, partition: str, rookie: bool) -> lb.BoardConfig:
    name = board.board_id + (f".{partition}" if partition else "")
    return lb.BoardConfig(
        board_id=name + (".rookie" if rookie else ""),
        sort_order=lb.SortOrder(str(board.sort_order)),
        aggregation=lb.Aggregation(str(board.aggregation)),
        tie_policy=lb.TiePolicy(str(board.tie_policy)),
    )


def redis_board(boards: lb.Leaderboards, board: BoardDefinition, key: BoardKey) -> lb.Leaderboard:
    return _period_board(boards, config(board, key), key.period_id)


@functools.lru_cache(maxsize=4 * _CACHED_BOARDS)
def _period_board(boards: lb.Leaderboards, board: lb.BoardConfig, period_id: str) -> lb.Leaderboard:
    # A Leaderboard holds only its keys and the client: safe to share between calls.
    return boards.period(board, period_id)
