"""Score submission and leaderboard reads: Postgres decides, Redis serves the ranks."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections import defaultdict
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
from service.app.boards.ports import BoardKey, MemberInfo, ScoreRow, Submission
from service.app.group_commit import GroupCommit, unreachable
from service.app.live.ports import NO_FEED, Feed
from service.app.ports import Clock, UnitOfWork
from service.domain.boards import MAX_SCORE, BoardDefinition, check_score
from service.domain.errors import DomainError, FailedPrecondition, InvalidArgument
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


def check_totals(board: BoardDefinition, rows: Sequence[ScoreRow]) -> None:
    """Refuse a score that took a member's total beyond what Redis holds exactly."""
    if any(abs(row.score) > MAX_SCORE for row in rows):
        raise InvalidArgument(
            "value", f"would take the score on board {board.board_id} beyond +-2^53"
        )


def is_rookie(sub: Submission, member: MemberInfo) -> bool:
    """Whether the submission also counts on the rookie board: the member is new there."""
    days = sub.board.rookie_days
    return bool(days) and sub.occurred_at - member.first_seen_at <= dt.timedelta(days=days)


def key_of(sub: Submission) -> BoardKey:
    return BoardKey(sub.board.board_id, sub.partition, sub.period_id)


def key_order(key: BoardKey) -> tuple[str, str, str]:
    """The order in which every transaction locks board-periods."""
    return (key.board_id, key.partition, key.period_id)


Members = dict[tuple[str, str], MemberInfo]  # (board id, member id) -> what is known


async def record_all(
    uow: UnitOfWork, subs: Sequence[Submission]
) -> tuple[Members, list[list[ScoreRow]]]:
    """Record submissions, in a few statements whatever their number: each board's members
    in one (boards in order, members in order, so that concurrent transactions never
    deadlock on their rows), then per board-period and definition version one statement per
    round in which no member scores twice (a member's scores go one a round, in arrival
    order). Returns what is known of the members and the aggregates each submission changed
    (none for a repeated idempotency key)."""
    first: dict[str, dict[str, dt.datetime]] = defaultdict(dict)
    batches: dict[tuple[BoardKey, int], list[int]] = defaultdict(list)
    for n, sub in enumerate(subs):
        seen = first[sub.board.board_id]
        seen[sub.member_id] = min(sub.occurred_at, seen.get(sub.member_id, sub.occurred_at))
        batches[key_of(sub), sub.board.version].append(n)
    members: Members = {}
    for board_id in sorted(first):
        found = await uow.scores.touch_members(board_id, first[board_id])
        members.update(((board_id, member_id), info) for member_id, info in found.items())
    changed: list[list[ScoreRow]] = [[] for _ in subs]
    for key, version in sorted(batches, key=lambda batch: (key_order(batch[0]), batch[1])):
        rounds: list[dict[str, int]] = []  # member id -> the submission's index
        for n in batches[key, version]:
            free = next((r for r in rounds if subs[n].member_id not in r), None)
            if free is None:
                rounds.append(free := {})
            free[subs[n].member_id] = n
        for scores in rounds:
            ordered = [subs[scores[member_id]] for member_id in sorted(scores)]
            rows = await uow.scores.record([
                (sub, is_rookie(sub, members[key.board_id, sub.member_id])) for sub in ordered
            ])  # fmt: skip
            check_totals(ordered[0].board, rows)
            for row in rows:
                changed[scores[row.member_id]].append(row)
    return members, changed


@dataclass(frozen=True, slots=True)
class Recorded:
    """A submission's outcome in its transaction: the aggregates it changed or, for a retry,
    the period its first call counted in and the member's aggregate there now."""

    sub: Submission
    rows: list[ScoreRow]
    metadata: lb.MemberMetadata
    first: BoardKey | None = None
    current: ScoreRow | None = None

    @property
    def copies(self) -> list[ScoreRow]:
        """What to copy to Redis: the changed aggregates or, for a retry, the member's
        aggregate again, since its first call may have died between its commit and its
        copy (the copy carries its revision, so it never overwrites a newer one)."""
        return self.rows or ([self.current] if self.current else [])


async def record_submissions(
    uow: UnitOfWork, subs: Sequence[Submission]
) -> list[Recorded | DomainError]:
    """Write the submissions to the ledger inside the caller's transaction, in a few
    statements whatever their number: the periods' and members' locks, the exclusions, the
    members, the scores. A submission to a final period, by an excluded member or under an
    idempotency key used for another submission gets its error instead, and writes nothing.
    """
    keys = sorted({key_of(sub) for sub in subs}, key=key_order)
    members = [sub.member_id for sub in subs]
    final = set()
    for n, key in enumerate(keys):  # members' locks come after every period's
        held = members if n == len(keys) - 1 else []
        if await uow.scores.lock_period(key, exclusive=False, member_ids=held):
            final.add(key)
    excluded = await uow.exclusions.excluded(members)
    outcomes: list[Recorded | DomainError | None] = []
    for sub in subs:
        if key_of(sub) in final:
            outcomes.append(
                FailedPrecondition(f"period {sub.period_id} of board {sub.board.board_id} is final")
            )
        elif sub.member_id in excluded:
            outcomes.append(FailedPrecondition(f"member {sub.member_id} is excluded from boards"))
        else:
            outcomes.append(None)
    taken = [n for n, outcome in enumerate(outcomes) if outcome is None]
    known, changed = await record_all(uow, [subs[n] for n in taken])
    for n, rows in zip(taken, changed, strict=True):
        sub = subs[n]
        info = known[sub.board.board_id, sub.member_id]
        metadata = lb.MemberMetadata(info.display_name, info.avatar_url)
        outcomes[n] = Recorded(sub, rows, metadata) if rows else await _retried(uow, sub, metadata)
    return [outcome for outcome in outcomes if outcome is not None]


async def _retried(
    uow: UnitOfWork, sub: Submission, metadata: lb.MemberMetadata
) -> Recorded | DomainError:
    """A retry: the first call's score stands; the caller learns its standing now in the
    period that score counted in (a retry without occurred_at may arrive later)."""
    try:
        first = BoardKey(sub.board.board_id, sub.partition, await _first_period(uow, sub))
    except FailedPrecondition as exc:
        return exc
    return Recorded(sub, [], metadata, first, await uow.scores.current(first, sub.member_id))


def prepared(cmd: SubmitScore, board: BoardDefinition, now: dt.datetime) -> Submission:
    """The checked submission of a SubmitScore call (see `submission`)."""
    if cmd.idempotency_key.startswith(EVENT_KEY_PREFIX):
        raise InvalidArgument(
            "idempotency_key", f"must not start with {EVENT_KEY_PREFIX!r}: events' scores use it"
        )
    return submission(cmd, board, now)


async def submit_score(cmd: SubmitScore, *, uow: UnitOfWork, boards: Boards) -> Submitted:
    """Record the score in the ledger, then copy the new aggregate to Redis."""
    board = await boards.catalog.get(check_id("board_id", cmd.board_id))
    sub = prepared(cmd, board, boards.clock.now())
    (done,) = await submit_scores([sub], uow=uow, boards=boards)
    if isinstance(done, Exception):
        raise done
    return done


async def submit_scores(
    subs: Sequence[Submission], *, uow: UnitOfWork, boards: Boards
) -> list[Submitted | Exception]:
    """Record the submissions in one transaction, then copy their aggregates to Redis in one
    pipeline; each gets its result, or the error that refused it alone (see
    `record_submissions`). Any other failure before the commit fails them all and stores
    nothing; after it, nothing fails the others (Redis copies that fail are repaired)."""
    async with uow:
        outcomes = await record_submissions(uow, subs)
        await uow.commit()
    done = [outcome for outcome in outcomes if isinstance(outcome, Recorded)]
    copies = [(o.sub.board, row) for o in done for row in o.copies]
    metadata = [o.metadata for o in done for _ in o.copies]
    placed = iter(await publish_all(copies, boards, uow, metadata) if copies else [])
    answers: list[Submitted | Exception] = []
    for outcome in outcomes:
        if isinstance(outcome, DomainError):
            answers.append(outcome)
            continue
        ranks = [next(placed) for _ in outcome.copies]
        try:
            answers.append(await _submitted(outcome, ranks, boards))
        except Exception as exc:  # committed: the others' answers stand
            log.exception("answering a committed score of %s failed", outcome.sub.member_id)
            answers.append(exc)
    return answers


async def _submitted(outcome: Recorded, placed: list[int | None], boards: Boards) -> Submitted:
    """The caller's answer, once the outcome's copies placed their member in Redis."""
    board, sub = outcome.sub.board, outcome.sub
    if outcome.rows:
        rank = await rank_after(board, outcome.rows, placed, boards)
        return Submitted(sub.period_id, outcome.rows[0].score, rank, False)
    assert outcome.first is not None
    if outcome.current is None:  # removed from the board since
        rank = await _rank(board, outcome.first, sub.member_id, boards)
        return Submitted(outcome.first.period_id, 0, rank, True)
    rank = await rank_after(board, [outcome.current], placed, boards)
    return Submitted(outcome.first.period_id, outcome.current.score, rank, True)


class ScoreIntake:
    """Group commit of SubmitScore (see `GroupCommit`): concurrent calls share one
    transaction, and one submission's fault fails only its own call."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        boards: Boards,
        *,
        unavailable: Callable[[BaseException], bool] = unreachable,
        on_group: Callable[[int, float], None] | None = None,
    ) -> None:
        self._uow = uow
        self._boards = boards
        self._groups: GroupCommit[Submission, Submitted] = GroupCommit(
            self._apply, unavailable=unavailable, on_group=on_group
        )

    async def submit(self, cmd: SubmitScore) -> Submitted:
        board = await self._boards.catalog.get(check_id("board_id", cmd.board_id))
        return await self._groups.submit(prepared(cmd, board, self._boards.clock.now()))

    async def _apply(self, subs: Sequence[Submission]) -> list[Submitted | Exception]:
        return await submit_scores(subs, uow=self._uow(), boards=self._boards)

    async def aclose(self) -> None:
        """Wait for the groups under way; calls after this are not served."""
        await self._groups.aclose()


async def _first_period(uow: UnitOfWork, sub: Submission) -> str:
    """The period the key's first submission counted in; a reused idempotency key must name
    the same submission, or it is a caller's bug."""
    recorded = await uow.scores.recorded(sub.board.board_id, sub.idempotency_key)
    if recorded is None or recorded[:3] != (sub.member_id, sub.partition, sub.value):
        raise FailedPrecondition(
            f"idempotency_key {sub.idempotency_key!r} was used for a different submission"
        )
    return recorded[3]


async def _rank(board: BoardDefinition, key: BoardKey, member_id: str, boards: Boards) -> int:
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


async def publish(
    board: BoardDefinition,
    rows: Sequence[ScoreRow],
    boards: Boards,
    repair_uow: UnitOfWork,
    metadata: lb.MemberMetadata | None = None,
) -> int:
    """Copy committed aggregates to Redis; queue a repair for any copy that fails. Returns
    the main board's rank (see `rank_after`)."""
    copies = [(board, row) for row in rows]
    placed = await publish_all(copies, boards, repair_uow, [metadata] * len(rows))
    return await rank_after(board, rows, placed, boards)


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
    return await _rank(board, row.key, row.member_id, boards)


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
