"""Healing Redis board copies from Postgres: a board-period Redis lost is loaded again, once.

A copy counts as present only while its `loaded` marker is there (the leaderboard library
writes it with the load and refuses reads and writes without it), so a flush, a restart
without persistence or a lost node shows up as missing markers. Postgres knows which
board-periods Redis should hold: those that ever held a score, unless finalised and past
their retention. A copy that is present but behind (a restore from an older snapshot, a
failover to a lagging replica) shows up once its board-period is settled: its member count
and sum of revisions differ from Postgres's. A rebuild holds the period's exclusive lock in
Postgres, which waits for submissions in flight and makes every other replica wait, then
find the copy healed, and skip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import leaderboard as lb
from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.mapping import BoardRef, period_of, redis_board
from service.app.boards.ports import BoardKey
from service.app.ports import UnitOfWork
from service.domain.boards import BoardDefinition, PeriodKind
from service.domain.errors import Unavailable

if TYPE_CHECKING:
    from service.app.boards.scores import Boards

log = logging.getLogger(__name__)

# How long a read or a submission waits for a rebuild it started or found running before it
# answers UNAVAILABLE (or, for a submission, rank 0).
HEAL_WAIT_SECONDS = 1.0
# When a rebuild is due: the copy is missing, it differs from Postgres, or always.
Need = Literal["missing", "behind", "always"]
# How many markers one Redis pipeline checks.
_CHECK_BATCH = 1000
# An upper bound of one period's length, for the retention horizon of each kind.
_LONGEST = {
    PeriodKind.DAILY: dt.timedelta(days=1, hours=1),
    PeriodKind.WEEKLY: dt.timedelta(days=7, hours=1),
    PeriodKind.MONTHLY: dt.timedelta(days=31, hours=1),
}


def period_named(board: BoardDefinition, period_id: str, now: dt.datetime) -> lb.Period:
    return period_of(board, BoardRef(board.board_id, period_id=period_id), now)


def retention_deadline(board: BoardDefinition, period: lb.Period) -> dt.datetime | None:
    """When a finalised period leaves Redis (as finalisation set it); None if never."""
    if period.start is None or period.end is None:
        return None
    return period.end + (period.end - period.start) * board.retention_periods


def finalized_since(board: BoardDefinition, now: dt.datetime) -> dt.datetime:
    """Periods finalised before this have certainly left Redis: no need to look at them."""
    if board.period is PeriodKind.SEASON:
        assert board.season_start is not None
        assert board.season_end is not None
        longest = board.season_end - board.season_start
    else:
        longest = _LONGEST.get(board.period, dt.timedelta(0))
    return now - longest * board.retention_periods - dt.timedelta(days=1)


def _change(rpc: str, key: BoardKey, members: int) -> Change:
    target = f"{key.board_id}:{key.partition}:{key.period_id}" + (":rookie" if key.rookie else "")
    details = {
        "board_id": key.board_id, "partition": key.partition, "period_id": key.period_id,
        "rookie": key.rookie, "members": members,
    }  # fmt: skip
    return Change(rpc, "board_period", target, details=details)


async def heal_period(
    board: BoardDefinition,
    key: BoardKey,
    *,
    uow: UnitOfWork,
    boards: Boards,
    need: Need = "missing",
    actor: Actor | None = None,
    rpc: str = "",
) -> int | None:
    """Load the board-period into Redis from Postgres; return its member count, or None when
    there was nothing to do (no longer as `need` says, or past its retention).

    An admin call passes its `actor` and `rpc` for the audit log; healing on its own (a lost
    copy, a board-period's first score) only logs.
    """
    target = redis_board(boards.redis, board, key)
    async with uow:
        # Held until the load is swapped in, so no submission lands in between and is lost.
        final = await uow.scores.lock_period(key, exclusive=True)
        if not await _needed(need, target, key, uow):
            return None
        if final and not await _keep_retention(board, target, boards.clock.now()):
            return None
        members = await target.load(await _entries(key, uow))
        if actor is not None:
            await record(uow, actor, boards.clock, _change(rpc, key, members))
        await uow.commit()
    log.info("loaded board-period %s into Redis: %d members", key, members)
    return members


async def _keep_retention(board: BoardDefinition, target: lb.Leaderboard, now: dt.datetime) -> bool:
    """Give a finalised period's copy its retention deadline again, which the load keeps;
    False if the deadline has passed (Redis should no longer hold the period)."""
    deadline = retention_deadline(board, period_named(board, target.period_id, now))
    if deadline is None:
        return True
    if deadline <= now:
        return False
    await target.expire_at(deadline)
    return True


async def _entries(key: BoardKey, uow: UnitOfWork) -> list[lb.LoadEntry]:
    """The board-period's aggregates, revisions and member metadata, as Postgres holds them."""
    rows = await uow.scores.rows(key)
    metadata = await uow.scores.metadata_of(key)
    return [
        lb.LoadEntry(
            r.member_id, r.score, r.reached_at_ms, r.revision,
            lb.MemberMetadata(*metadata[r.member_id]) if r.member_id in metadata else None,
        )
        for r in rows
    ]  # fmt: skip


async def _needed(need: Need, target: lb.Leaderboard, key: BoardKey, uow: UnitOfWork) -> bool:
    """Whether the rebuild is still due, seen with the period locked."""
    if need == "always":
        return True
    copy = await target.checksum()
    if need == "missing" or copy is None:
        return copy is None
    return copy != (await uow.scores.checksum(key))[:2]


async def kept_keys(board: BoardDefinition, *, uow: UnitOfWork, now: dt.datetime) -> list[BoardKey]:
    """The board's board-periods that Redis should hold, newest first."""
    async with uow:
        return await uow.scores.kept_keys(board.board_id, finalized_since(board, now))


async def heal_board(
    board: BoardDefinition, *, uow: Callable[[], UnitOfWork], boards: Boards
) -> int:
    """Load each of the board's board-periods whose copy Redis lost; return how many."""
    keys = await kept_keys(board, uow=uow(), now=boards.clock.now())
    healed = 0
    for first in range(0, len(keys), _CHECK_BATCH):
        batch = keys[first : first + _CHECK_BATCH]
        present = await boards.redis.loaded([redis_board(boards.redis, board, k) for k in batch])
        for key, loaded in zip(batch, present, strict=True):
            if not loaded and await heal_period(board, key, uow=uow(), boards=boards) is not None:
                healed += 1
    return healed


async def heal_all(*, uow: Callable[[], UnitOfWork], boards: Boards) -> int:
    """Heal every board (each board's failure logged, the others still healed)."""
    healed = 0
    for board in await boards.catalog.all():
        try:
            healed += await heal_board(board, uow=uow, boards=boards)
        except Exception:
            log.exception("healing the Redis copies of board %s failed", board.board_id)
    return healed


async def rebuild_all(
    *, uow: Callable[[], UnitOfWork], boards: Boards, actor: Actor = SYSTEM
) -> int:
    """Reload every board-period Redis should hold, present or not; return how many."""
    rebuilt = 0
    now = boards.clock.now()
    for board in sorted(await boards.catalog.all(), key=lambda b: b.board_id):
        for key in await kept_keys(board, uow=uow(), now=now):
            done = await heal_period(
                board, key, uow=uow(), boards=boards, need="always", actor=actor,
                rpc="LeaderboardAdminService/RebuildBoards",
            )  # fmt: skip
            rebuilt += done is not None
    return rebuilt


async def verify_board(
    board: BoardDefinition,
    *,
    uow: Callable[[], UnitOfWork],
    boards: Boards,
    seen: dict[BoardKey, int],
) -> int:
    """Rebuild each of the board's copies that is present but differs from Postgres although
    no score changed there since the last pass (whose latest revisions `seen` keeps)."""
    keys = await kept_keys(board, uow=uow(), now=boards.clock.now())
    healed = 0
    for first in range(0, len(keys), _CHECK_BATCH):
        batch = keys[first : first + _CHECK_BATCH]
        copies = await boards.redis.checksums([redis_board(boards.redis, board, k) for k in batch])
        for key, copy in zip(batch, copies, strict=True):
            async with uow() as reader:
                members, total, latest = await reader.scores.checksum(key)
            settled, seen[key] = seen.get(key) == latest, latest
            if copy is None or not settled or copy == (members, total):
                continue
            log.warning("the Redis copy of board-period %s is behind Postgres", key)
            done = await heal_period(board, key, uow=uow(), boards=boards, need="behind")
            healed += done is not None
    return healed


async def verify_all(
    *, uow: Callable[[], UnitOfWork], boards: Boards, seen: dict[BoardKey, int]
) -> int:
    """`verify_board` for every board (each board's failure logged, the others verified)."""
    healed = 0
    for board in await boards.catalog.all():
        try:
            healed += await verify_board(board, uow=uow, boards=boards, seen=seen)
        except Exception:
            log.exception("verifying the Redis copies of board %s failed", board.board_id)
    return healed


def rebuilding(key: BoardKey) -> Unavailable:
    rookie = " (rookie board)" if key.rookie else ""
    partition = f" partition {key.partition!r}" if key.partition else ""
    return Unavailable(
        f"board {key.board_id!r}{partition} period {key.period_id}{rookie} is being rebuilt "
        "from the score ledger; retry shortly"
    )


@dataclass
class Healer:
    """This replica's heals in flight, so concurrent callers of one board-period share one."""

    uow: Callable[[], UnitOfWork]
    wait_seconds: float = HEAL_WAIT_SECONDS
    _running: dict[BoardKey, asyncio.Task[int | None]] = field(default_factory=dict)

    async def expected(self, board: BoardDefinition, key: BoardKey, now: dt.datetime) -> bool:
        """Whether Redis should hold the board-period: it held scores and is still kept."""
        async with self.uow() as uow:
            known, final = await uow.scores.key_state(key)
        if not known or not final:
            return known
        deadline = retention_deadline(board, period_named(board, key.period_id, now))
        return deadline is None or deadline > now

    async def restore(self, board: BoardDefinition, key: BoardKey, boards: Boards) -> bool:
        """After a NotLoaded: False when Redis should hold nothing there (an empty answer is
        right), True once the copy is loaded again; Unavailable while it is being rebuilt."""
        if not await self.expected(board, key, boards.clock.now()):
            return False
        if not await self.wait(board, key, boards):
            raise rebuilding(key)
        return True

    def healing(self, key: BoardKey) -> bool:
        """Whether this replica is rebuilding the board-period now."""
        return key in self._running

    async def start(
        self, board: BoardDefinition, key: BoardKey, boards: Boards
    ) -> asyncio.Task[int | None]:
        """This replica's heal of the board-period: the one running, or a new one."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(heal_period(board, key, uow=self.uow(), boards=boards))
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    async def wait(self, board: BoardDefinition, key: BoardKey, boards: Boards) -> bool:
        """Start this replica's heal of the board-period, or join it; True if it finished
        within the wait."""
        task = await self.start(board, key, boards)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.wait_seconds)
        except TimeoutError:
            return False
        except Exception:  # noqa: BLE001 - logged by _finished; the caller answers unavailable
            return False
        return True

    def _finished(self, key: BoardKey, task: asyncio.Task[int | None]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("healing board-period %s failed: %r", key, exc)
