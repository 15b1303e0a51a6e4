"""Scores and leaderboards: checked submissions, and their copies in Redis, which serves the
ranks (the ledger writes are in `score_writes`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis.exceptions

import leaderboard as lb
from service.app.boards.definitions import BoardCatalog
from service.app.boards.heal import Healer
from service.app.boards.mapping import (
    BoardRef,
    check_partition,
    period_at,
    period_of,
    redis_board,
    running_period,
)
from service.app.boards.ports import BoardKey, ScoreRow, Submission
from service.app.live.ports import NO_FEED, Feed
from service.app.ports import Clock, UnitOfWork
from service.domain.boards import BoardDefinition, check_score
from service.domain.errors import FailedPrecondition, InvalidArgument
from service.domain.validation import check_id

log = logging.getLogger(__name__)

# How far ahead of the server's clock a submission may claim to have happened.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
# Tie-breaks count milliseconds from the Unix epoch; nothing can have been scored before it.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_DISPLAY_NAME = 64
# Scores recorded for events carry the event's idempotency key behind this prefix.
EVENT_KEY_PREFIX = "event:"
MAX_AVATAR_URL = 2048


@dataclass(frozen=True, slots=True)
class Boards:
    """What the leaderboard handlers need besides a unit of work."""

    catalog: BoardCatalog
    redis: lb.Leaderboards
    clock: Clock
    # Reloads board-periods Redis lost; needed when `redis` requires loaded copies.
    healer: Healer | None = None
    # Hears each Redis operation's name and duration in seconds.
    observe: Callable[[str, float], None] | None = None
    # Users' live feeds; also told when a board-period's scores change (watchers' ranks).
    feed: Feed = NO_FEED

    def took(self, operation: str, start: float) -> None:
        """Report `operation`, begun at `time.perf_counter()` `start`, to `observe`."""
        if self.observe is not None:
            self.observe(operation, time.perf_counter() - start)


@dataclass(frozen=True, slots=True)
class SubmitScore:
    board_id: str
    member_id: str
    value: int
    idempotency_key: str
    partition: str = ""
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    period_id: str
    score: int
    rank: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Resolved:
    """A board reference checked against its definition."""

    board: BoardDefinition
    key: BoardKey
    period: lb.Period

    def redis(self, boards: Boards) -> lb.Leaderboard:
        return redis_board(boards.redis, self.board, self.key)


async def resolve(ref: BoardRef, boards: Boards) -> Resolved:
    """The definition, key and period a reference names; NotFound or InvalidArgument."""
    board = await boards.catalog.get(check_id("board.board_id", ref.board_id))
    partition = check_partition(board, ref.partition, "board.partition")
    if ref.rookie and not board.rookie_days:
        raise InvalidArgument("board.rookie", f"board {board.board_id} has no rookie board")
    period = period_of(board, ref, boards.clock.now())
    return Resolved(
        board, BoardKey(board.board_id, partition, period.period_id, ref.rookie), period
    )


def is_closed(board: BoardDefinition, period: lb.Period, now: dt.datetime) -> bool:
    """Whether late scores are no longer accepted: the period ended more than a grace ago."""
    grace = dt.timedelta(seconds=board.finalize_grace_seconds)
    return period.end is not None and now >= period.end + grace


def submission(cmd: SubmitScore, board: BoardDefinition, now: dt.datetime) -> Submission:
    """The checked submission; InvalidArgument, or FailedPrecondition once its period closed."""
    check_id("member_id", cmd.member_id)
    check_id("idempotency_key", cmd.idempotency_key)
    check_score("value", cmd.value)
    partition = check_partition(board, cmd.partition, "partition")
    occurred = cmd.occurred_at or now
    if occurred > now + MAX_CLOCK_SKEW:
        raise InvalidArgument("occurred_at", "must not be in the future")
    if occurred < EPOCH:
        raise InvalidArgument("occurred_at", "must not be before 1970-01-01")
    period = period_at(board, occurred)
    if is_closed(board, period, now):
        raise FailedPrecondition(f"period {period.period_id} of board {board.board_id} is closed")
    return Submission(
        board, partition, period.period_id, cmd.member_id, cmd.value, occurred,
        cmd.idempotency_key,
    )  # fmt: skip


async def rank_now(board: BoardDefinition, key: BoardKey, member_id: str, boards: Boards) -> int:
    """The member's rank in Redis; 0 when Redis cannot say yet (the copy is being rebuilt)
    or cannot be reached: the score is committed whatever Redis says."""
    copy = redis_board(boards.redis, board, key)
    try:
        try:
            found = await copy.rank_of(member_id)
        except lb.NotLoaded:
            healer = boards.healer
            if healer is None or not await healer.wait(board, key, boards):
                return 0
            found = await copy.rank_of(member_id)
    except (lb.NotLoaded, redis.exceptions.RedisError, OSError):
        return 0
    return found.rank if found else 0


async def rank_after(
    board: BoardDefinition, rows: Sequence[ScoreRow], placed: Sequence[int | None], boards: Boards
) -> int:
    """The main board's rank its copy placed the member at, or 0 when Redis could not say. A
    board-period Redis lost took no copy: it is rebuilt from Postgres, which holds these rows
    already, and the rank is read from the rebuilt copy if that is done within the healer's
    wait."""
    main = [(row, rank) for row, rank in zip(rows, placed, strict=True) if not row.key.rookie]
    if not main:
        return 0
    row, rank = main[0]
    if rank is not None:
        return rank
    if boards.healer is None or not boards.healer.healing(row.key):
        return 0  # Redis failed; the repair pass copies the rows later
    return await rank_now(board, row.key, row.member_id, boards)


async def publish_all(
    copies: Sequence[tuple[BoardDefinition, ScoreRow]],
    boards: Boards,
    repair_uow: UnitOfWork,
    metadata: Sequence[lb.MemberMetadata | None] = (),
) -> list[int | None]:
    """Copy committed aggregates to Redis in one pipeline, each with its member's `metadata`
    if given; should it fail, queue them all for repair in one transaction. Returns the rank
    each copy placed its member at, or Nones."""
    puts = [
        lb.Put(
            redis_board(boards.redis, board, row.key), row.member_id, row.score,
            row.reached_at_ms, row.revision, meta,
        )
        for (board, row), meta in zip(copies, metadata or [None] * len(copies), strict=True)
    ]  # fmt: skip
    start = time.perf_counter()
    try:
        placed = list(await boards.redis.put_many(puts))
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("queueing Redis repairs of %d aggregates: %s", len(copies), exc)
    else:
        boards.took("put", start)
        await _heal_unloaded(copies, placed, boards)
        await boards.feed.boards_changed({row.key for _, row in copies})
        return placed
    try:
        async with repair_uow:
            await repair_uow.scores.queue_repair([row for _, row in copies])
            await repair_uow.commit()
    except Exception:
        log.exception("could not queue Redis repairs; RebuildBoard restores these boards")
    return [None] * len(copies)


async def _heal_unloaded(
    copies: Sequence[tuple[BoardDefinition, ScoreRow]], placed: Sequence[int | None], boards: Boards
) -> None:
    """Start rebuilding the board-periods that refused their copies (Redis lost them)."""
    healer = boards.healer
    if healer is None:
        return
    lost = {
        row.key: board for (board, row), rank in zip(copies, placed, strict=True) if rank is None
    }
    for key, board in lost.items():
        await healer.start(board, key, boards)


async def set_metadata(
    board_id: str,
    member_id: str,
    display_name: str,
    avatar_url: str,
    *,
    uow: UnitOfWork,
    boards: Boards,
) -> None:
    """Store what clients show beside the member, and show it on the current period now."""
    board = await boards.catalog.get(check_id("board_id", board_id))
    check_id("member_id", member_id)
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidArgument("display_name", f"must be at most {MAX_DISPLAY_NAME} characters")
    if len(avatar_url) > MAX_AVATAR_URL:
        raise InvalidArgument("avatar_url", f"must be at most {MAX_AVATAR_URL} characters")
    now = boards.clock.now()
    # Before a season starts there is no period to show it on yet; it is stored all the same.
    period = running_period(board, now)
    async with uow:
        await uow.scores.set_metadata(board_id, member_id, display_name, avatar_url, now)
        keys = await uow.scores.member_keys(board_id, period.period_id, member_id) if period else []
        await uow.commit()
    metadata = lb.MemberMetadata(display_name or None, avatar_url or None)
    for key in keys:
        # A copy Redis lost takes the metadata from Postgres when it is rebuilt.
        with contextlib.suppress(lb.NotLoaded):
            await redis_board(boards.redis, board, key).set_metadata(member_id, metadata)
