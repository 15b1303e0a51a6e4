"""Privacy handlers: export everything stored about a user, or erase it everywhere."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass

import redis.exceptions

import leaderboard as lb
from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.mapping import redis_board
from service.app.boards.scores import Boards
from service.app.ports import UnitOfWork
from service.app.privacy.ports import Erasure, UserData
from service.domain.errors import InvalidArgument, NotFound
from service.domain.validation import check_id

log = logging.getLogger(__name__)

MAX_REASON = 500
PSEUDONYM_PREFIX = "erased-"


@dataclass(frozen=True, slots=True)
class DeleteUserData:
    user_id: str
    reason: str


def pseudonym_of(user_id: str) -> str:
    """What stays in place of an erased user id: the same for every call, so that a second
    deletion finds the first one's entries, but not the id itself."""
    return PSEUDONYM_PREFIX + hashlib.sha256(user_id.encode()).hexdigest()[:24]


async def export_user_data(user_id: str, *, uow: UnitOfWork) -> UserData:
    """Every row stored about the user; NotFound when there is none."""
    check_id("user_id", user_id)
    async with uow:
        data = await uow.privacy.export(user_id)
    if not data.tables:
        raise NotFound("user", user_id)
    return data


async def delete_user_data(
    cmd: DeleteUserData, *, uow: UnitOfWork, boards: Boards, actor: Actor = SYSTEM
) -> Erasure:
    """Erase the user from Postgres in one transaction, then from every Redis board.

    Should Redis fail, the erasure still commits: the queued repairs remove the user from the
    boards later (and so does calling again). A second call changes nothing.
    """
    check_id("user_id", cmd.user_id)
    reason = cmd.reason.strip()
    if not reason or len(reason) > MAX_REASON or not reason.isprintable():
        raise InvalidArgument("reason", f"must be 1 to {MAX_REASON} printable characters")
    pseudonym = pseudonym_of(cmd.user_id)
    note = f"cancelled: the user's data was deleted ({reason})"
    async with uow:
        erasure = await uow.privacy.erase(cmd.user_id, pseudonym, note)
        if erasure.changed:
            await record(uow, actor, boards.clock, _change(erasure, reason))
        await uow.commit()
    if erasure.board_keys:
        await _clear_boards(cmd.user_id, erasure, uow=uow, boards=boards)
    await _clear_feed(cmd.user_id, boards)
    return erasure


async def _clear_feed(user_id: str, boards: Boards) -> None:
    """Delete the user's live feed; should Redis fail, it expires within the feed's retention."""
    try:
        await boards.feed.erase(user_id)
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("erasing the live feed failed; it expires by itself: %s", exc)


def _change(erasure: Erasure, reason: str) -> Change:
    details = {
        "reason": reason,
        "deleted": {table: n for table, n in erasure.deleted.items() if n},
        "grants_cancelled": erasure.grants_cancelled,
        "grants_kept": erasure.grants_kept,
        "board_periods": len(erasure.board_keys),
    }
    return Change("PrivacyAdminService/DeleteUserData", "user", erasure.pseudonym, details=details)


async def _clear_boards(user_id: str, erasure: Erasure, *, uow: UnitOfWork, boards: Boards) -> None:
    """Remove the user from every board-period in Redis, then drop the queued repairs."""
    try:
        for key in erasure.board_keys:
            board = await boards.catalog.get(key.board_id)
            # A copy Redis lost is rebuilt from Postgres, where the user is gone already.
            with contextlib.suppress(lb.NotLoaded):
                await redis_board(boards.redis, board, key).remove(user_id)
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("erasing from Redis boards failed; the repair pass finishes it: %s", exc)
        return
    async with uow:
        await uow.privacy.forget_repairs(user_id)
        await uow.commit()
