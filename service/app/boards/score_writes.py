"""Recording scores in the ledger: SubmitScore alone or in groups, and events' scores.

Postgres decides: a submission's transaction writes the ledger and the aggregates, a few
statements whatever the number of submissions; Redis copies them after the commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import leaderboard as lb
from service.app.boards.ports import BoardKey, MemberInfo, ScoreRow, Submission
from service.app.boards.scores import (
    EVENT_KEY_PREFIX,
    Boards,
    SubmitScore,
    Submitted,
    publish_all,
    rank_after,
    rank_now,
    submission,
)
from service.app.group_commit import GroupCommit, unreachable
from service.app.ports import UnitOfWork
from service.domain.boards import MAX_SCORE, BoardDefinition
from service.domain.errors import DomainError, FailedPrecondition, InvalidArgument
from service.domain.validation import check_id

log = logging.getLogger(__name__)


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
    # What clients show beside the member; None keeps what Redis has.
    metadata: lb.MemberMetadata | None
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
    idempotency keys used already, the members, the scores. A submission to a final period,
    by an excluded member or under an idempotency key used for another submission gets its
    error instead, and writes nothing; a retry writes nothing either.
    """
    keys = sorted({key_of(sub) for sub in subs}, key=key_order)
    members = sorted({sub.member_id for sub in subs})
    final = set()
    for n, key in enumerate(keys):  # members' locks come after every period's
        held = members if n == len(keys) - 1 else []
        if await uow.scores.lock_period(key, exclusive=False, member_ids=held):
            final.add(key)
    excluded = await uow.exclusions.excluded(members)
    used = await _used_keys(uow, subs)
    outcomes: list[Recorded | DomainError | None] = []
    fresh: list[int] = []  # the submissions to record; the others wait for them
    for n, sub in enumerate(subs):
        if key_of(sub) in final:
            outcomes.append(
                FailedPrecondition(f"period {sub.period_id} of board {sub.board.board_id} is final")
            )
        elif sub.member_id in excluded:
            outcomes.append(FailedPrecondition(f"member {sub.member_id} is excluded from boards"))
        else:
            outcomes.append(None)
            if (sub.board.board_id, sub.idempotency_key) not in used:
                used.add((sub.board.board_id, sub.idempotency_key))
                fresh.append(n)
    known, changed = await record_all(uow, [subs[n] for n in fresh])
    for n, rows in zip(fresh, changed, strict=True):
        sub = subs[n]
        info = known[sub.board.board_id, sub.member_id]
        metadata = lb.MemberMetadata(info.display_name, info.avatar_url)
        # No rows: a concurrent call recorded the key first.
        outcomes[n] = Recorded(sub, rows, metadata) if rows else await _retried(uow, sub, metadata)
    for n, outcome in enumerate(outcomes):
        if outcome is None:  # a retry, of an earlier call or of one in this group
            outcomes[n] = await _retried(uow, subs[n], None)
    return [outcome for outcome in outcomes if outcome is not None]


async def _used_keys(uow: UnitOfWork, subs: Sequence[Submission]) -> set[tuple[str, str]]:
    """(board id, idempotency key) of the submissions' keys the ledger has recorded."""
    by_board: dict[str, set[str]] = defaultdict(set)
    for sub in subs:
        by_board[sub.board.board_id].add(sub.idempotency_key)
    used = set()
    for board_id in sorted(by_board):
        found = await uow.scores.used_keys(board_id, sorted(by_board[board_id]))
        used |= {(board_id, key) for key in found}
    return used


async def _retried(
    uow: UnitOfWork, sub: Submission, metadata: lb.MemberMetadata | None
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
        rank = await rank_now(board, outcome.first, sub.member_id, boards)
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
