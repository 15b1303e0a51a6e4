"""Excluding a member from every board (a ban), and reinstating them; both audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.exceptions

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.mapping import redis_board
from service.app.boards.ports import BoardKey
from service.app.boards.scores import Boards
from service.app.ports import UnitOfWork
from service.domain.errors import DomainError, InvalidArgument
from service.domain.validation import check_id

log = logging.getLogger(__name__)

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class Excluded:
    # False when the member was excluded already: nothing changed.
    excluded: bool
    # The board-periods the member's scores were removed from.
    removed_from: tuple[BoardKey, ...]


async def exclude_member(
    member_id: str, reason: str, *, uow: UnitOfWork, boards: Boards, actor: Actor = SYSTEM
) -> Excluded:
    """Keep the member off every board, periods to come included, until reinstated: their
    scores leave every period not final yet, and new ones are refused."""
    check_id("member_id", member_id)
    if not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidArgument("reason", f"must be 1 to {MAX_REASON} characters, not blank")
    async with uow:
        already = bool(await uow.exclusions.excluded([member_id]))
        keys = await uow.exclusions.exclude(member_id, reason, boards.clock.now())
        if already and not keys:
            return Excluded(False, ())
        details = {"reason": reason, "periods": len(keys), "already_excluded": already}
        change = Change("LeaderboardAdminService/ExcludeMember", "member", member_id,
                        details=details)  # fmt: skip
        await record(uow, actor, boards.clock, change)
        await uow.commit()
    await _remove_from_redis(member_id, keys, boards)
    return Excluded(not already, tuple(keys))


async def reinstate_member(
    member_id: str, *, uow: UnitOfWork, boards: Boards, actor: Actor = SYSTEM
) -> bool:
    """End an exclusion: scores count again from now on (removed ones stay removed)."""
    check_id("member_id", member_id)
    async with uow:
        if not await uow.exclusions.reinstate(member_id):
            return False
        change = Change("LeaderboardAdminService/ReinstateMember", "member", member_id)
        await record(uow, actor, boards.clock, change)
        await uow.commit()
    return True


async def _remove_from_redis(member_id: str, keys: list[BoardKey], boards: Boards) -> None:
    """Each removal was queued for repair in the transaction: a failure here is retried."""
    for key in keys:
        try:
            board = await boards.catalog.get(key.board_id)
            await redis_board(boards.redis, board, key).remove(member_id)
        except (DomainError, redis.exceptions.RedisError, OSError) as exc:
            # An unknown board, or Redis out of reach: the queued repair removes it later.
            log.warning("removing excluded member from %s failed: %r", key.board_id, exc)
