"""Board-period operations: finalisation, rebuilds from Postgres, repairs, removals."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

import leaderboard as lb
from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.heal import heal_period
from service.app.boards.mapping import BoardRef, period_at, redis_board
from service.app.boards.ports import REMOVED, BoardKey, ScoreRow
from service.app.boards.scores import Boards, is_closed, resolve
from service.app.ports import UnitOfWork
from service.app.rules.badge_hooks import on_final_ranks, worst_rank_rewarded
from service.app.rules.outcomes import Rules
from service.domain.boards import BoardDefinition, PeriodKind, finalization_grants
from service.domain.errors import FailedPrecondition
from service.domain.rewards import Grant
from service.domain.validation import check_id

log = logging.getLogger(__name__)

# How many ended periods each pass looks back at, so a week of downtime still pays daily
# boards' rewards.
CATCH_UP_PERIODS = 7
_INSTANT = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Finalized:
    period_id: str
    members: int
    grants: int
    already_final: bool


def cause_ref(key: BoardKey) -> str:
    rookie = ":rookie" if key.rookie else ""
    return f"board:{key.board_id}:{key.partition}:{key.period_id}{rookie}"


def _key_details(key: BoardKey) -> dict[str, object]:
    return {
        "board_id": key.board_id, "partition": key.partition, "period_id": key.period_id,
        "rookie": key.rookie,
    }  # fmt: skip


def _period_change(method: str, key: BoardKey, details: dict[str, object]) -> Change:
    """A change of one board-period; its target id reads like the period's grants' cause."""
    target = cause_ref(key).removeprefix("board:")
    return Change(
        f"LeaderboardAdminService/{method}", "board_period", target,
        details={**_key_details(key), **details},
    )  # fmt: skip


async def finalize_period(
    ref: BoardRef,
    *,
    uow: UnitOfWork,
    boards: Boards,
    rules: Rules | None = None,
    actor: Actor = SYSTEM,
) -> Finalized:
    """Snapshot the standings, queue the rank rewards and close the period; once only.

    With `rules`, badges on the board's final ranks are earned in the same transaction.
    """
    resolved = await resolve(ref, boards)
    board, key, period = resolved.board, resolved.key, resolved.period
    if not is_closed(board, period, boards.clock.now()):
        raise FailedPrecondition(f"period {key.period_id} is still open to scores")
    async with uow:
        # The exclusive lock waits for submissions in flight; afterwards they see "final".
        already_final = await uow.scores.lock_period(key, exclusive=True)
        members = 0
        grants: tuple[Grant, ...] = ()
        if not already_final:
            members = await uow.scores.finalize(key, board)
            grants = await _rank_rewards(board, key, uow, boards.clock.now())
            await uow.outbox.add(grants)
            if rules is not None and not key.rookie:
                await _rank_badges(key, uow, rules, boards.clock.now())
            details: dict[str, object] = {
                "members": members,
                "grants": len(grants),
                "board_version": board.version,
            }
            change = _period_change("FinalizePeriod", key, details)
            await record(uow, actor, boards.clock, change)
            await uow.commit()
    # Also after a retry: a finalisation whose Redis step failed is completed here.
    await _retire(board, key, period, boards)
    return Finalized(key.period_id, members, len(grants), already_final)


async def _rank_rewards(
    board: BoardDefinition, key: BoardKey, uow: UnitOfWork, now: dt.datetime
) -> tuple[Grant, ...]:
    """The reward table pays the main board; a rookie board only ranks newcomers."""
    if key.rookie or not board.rewards:
        return ()
    ranked = await uow.scores.rewarded(key, board.last_rewarded_rank)
    standings = [(r.rank, r.member_id) for r in ranked]
    return finalization_grants(board, cause_ref(key), standings, now)


async def _rank_badges(key: BoardKey, uow: UnitOfWork, rules: Rules, now: dt.datetime) -> None:
    worst = await worst_rank_rewarded(rules, key.board_id)
    if worst:
        ranked = await uow.scores.rewarded(key, worst)
        members = [(r.rank, r.member_id) for r in ranked]
        await on_final_ranks(uow, rules, key.board_id, members, cause_ref(key), now)


async def _retire(board: BoardDefinition, key: BoardKey, period: lb.Period, boards: Boards) -> None:
    """Keep a finalised period readable in Redis for the board's retention, then drop it."""
    assert period.start is not None
    assert period.end is not None
    length = period.end - period.start
    deadline = period.end + length * board.retention_periods
    await redis_board(boards.redis, board, key).expire_at(deadline)


async def rebuild_board(
    ref: BoardRef, *, uow: UnitOfWork, boards: Boards, actor: Actor = SYSTEM
) -> tuple[str, int]:
    """Replace a board-period in Redis with the aggregates Postgres holds."""
    resolved = await resolve(ref, boards)
    members = await heal_period(
        resolved.board, resolved.key, uow=uow, boards=boards, need="always", actor=actor,
        rpc="LeaderboardAdminService/RebuildBoard",
    )  # fmt: skip
    return resolved.key.period_id, members or 0


async def remove_member(
    ref: BoardRef, member_id: str, *, uow: UnitOfWork, boards: Boards, actor: Actor = SYSTEM
) -> bool:
    """Take a member off a board-period in Postgres, then in Redis."""
    resolved = await resolve(ref, boards)
    check_id("member_id", member_id)
    key = resolved.key
    async with uow:
        removed = await uow.scores.remove(key, member_id)
        # Should the Redis removal below fail, the repair pass removes the member there.
        await uow.scores.queue_repair([ScoreRow(key, member_id, 0, 0, REMOVED)])
        details = {**_key_details(key), "removed": removed}
        change = Change(
            "LeaderboardAdminService/RemoveMember", "member", member_id, None, None, details
        )
        await record(uow, actor, boards.clock, change)
        await uow.commit()
    with contextlib.suppress(lb.NotLoaded):  # a rebuild from Postgres leaves the member out
        await resolved.redis(boards).remove(member_id)
    return removed


async def repair(*, uow: UnitOfWork, boards: Boards, limit: int = 500) -> int:
    """Apply queued repairs: copy each member's current aggregate to Redis again."""
    async with uow:
        rows = await uow.scores.take_repairs(limit)
        for row in rows:
            board = await boards.catalog.get(row.key.board_id)
            target = redis_board(boards.redis, board, row.key)
            try:
                if row.revision == REMOVED:
                    await target.remove(row.member_id)
                else:
                    await target.put(
                        row.member_id, row.score, reached_at_ms=row.reached_at_ms,
                        revision=row.revision,
                    )  # fmt: skip
            except lb.NotLoaded:
                pass  # Redis lost the board-period: healing loads it from Postgres whole
        # Claims are released only once Redis took every copy; a failure leaves them queued.
        await uow.commit()
    return len(rows)


async def finalize_due(*, uow: UnitOfWork, boards: Boards, rules: Rules | None = None) -> int:
    """Finalise every board-period whose grace has passed; return how many were finalised."""
    done = 0
    for board in await boards.catalog.all():
        # One board's failure must not hold back the others' rewards.
        try:
            done += await _finalize_board(board, uow=uow, boards=boards, rules=rules)
        except Exception:
            log.exception("finalising board %s failed", board.board_id)
    return done


async def _finalize_board(
    board: BoardDefinition, *, uow: UnitOfWork, boards: Boards, rules: Rules | None
) -> int:
    now = boards.clock.now()
    closed = [p for p in _ended_periods(board, now) if is_closed(board, p, now)]
    done = 0
    for period in closed:
        async with uow:
            keys = await uow.scores.open_keys(board.board_id, period.period_id)
        for key in keys:
            ref = BoardRef(key.board_id, key.partition, key.rookie, key.period_id)
            finalized = await finalize_period(ref, uow=uow, boards=boards, rules=rules)
            done += not finalized.already_final
    return done


def _ended_periods(board: BoardDefinition, now: dt.datetime) -> list[lb.Period]:
    """The board's latest periods that have ended by `now`, enough to catch up on downtime."""
    if board.period is PeriodKind.ALL_TIME:
        return []
    if board.period is PeriodKind.SEASON:
        assert board.season_end is not None
        ended = now >= board.season_end
        return [period_at(board, board.season_end - _INSTANT)] if ended else []
    periods = [period_at(board, now)]
    for _ in range(CATCH_UP_PERIODS):
        start = periods[-1].start
        assert start is not None
        periods.append(period_at(board, start - _INSTANT))
    return periods[1:]
