"""Rank changes on the boards a watcher follows: re-read only after a board's scores changed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis.exceptions

import leaderboard as lb
from service.app.boards.mapping import BoardRef
from service.app.boards.ports import BoardKey
from service.app.boards.reads import get_rank
from service.app.boards.scores import Boards, resolve
from service.app.live.ports import FeedReader
from service.domain.errors import InvalidArgument, NotFound, Unavailable

log = logging.getLogger(__name__)

MAX_WATCHED_BOARDS = 10


@dataclass(frozen=True, slots=True)
class RankChanged:
    """The watcher's rank on a board it follows; rank 0 while it has no score there."""

    ref: BoardRef
    period_id: str
    rank: int
    score: int
    total_members: int


async def checked_refs(refs: Sequence[BoardRef], boards: Boards) -> tuple[BoardRef, ...]:
    """The references, each naming a board that exists (NotFound, InvalidArgument)."""
    if len(refs) > MAX_WATCHED_BOARDS:
        raise InvalidArgument("boards", f"must hold at most {MAX_WATCHED_BOARDS} boards")
    if len(set(refs)) != len(refs):
        raise InvalidArgument("boards", "must not name a board twice")
    for index, ref in enumerate(refs):
        try:
            await resolve(ref, boards)
        except InvalidArgument as exc:
            field = f"boards[{index}].{exc.field.removeprefix('board.')}"
            raise InvalidArgument(field, exc.rule) from None
    return tuple(refs)


class RankWatch:
    """The last rank sent per board and the change counters it was read at."""

    def __init__(self, user_id: str, refs: Sequence[BoardRef], boards: Boards) -> None:
        self._user_id = user_id
        self._refs = tuple(refs)
        self._boards = boards
        self._versions: dict[BoardKey, int] = {}
        self._sent: dict[BoardRef, RankChanged] = {}

    async def changes(self, reader: FeedReader) -> list[RankChanged]:
        """Ranks that differ from the last ones sent, reading only boards whose scores
        changed since; a board whose copy is out of reach is tried again next time."""
        if not self._refs:
            return []
        keys = [(await resolve(ref, self._boards)).key for ref in self._refs]
        versions = await reader.board_versions(keys)
        found = []
        for ref, key, version in zip(self._refs, keys, versions, strict=True):
            if self._versions.get(key) == version and ref in self._sent:
                continue
            change = await self._read(ref)
            if change is None:
                continue
            self._versions[key] = version
            if self._sent.get(ref) != change:
                self._sent[ref] = change
                found.append(change)
        return found

    async def _read(self, ref: BoardRef) -> RankChanged | None:
        try:
            period_id, rank = await get_rank(ref, self._user_id, boards=self._boards)
        except NotFound:
            period_id = (await resolve(ref, self._boards)).key.period_id
            return RankChanged(ref, period_id, 0, 0, 0)
        except (Unavailable, lb.NotLoaded, redis.exceptions.RedisError, OSError) as exc:
            log.info("rank on %s not read now: %r", ref.board_id, exc)
            return None
        return RankChanged(ref, period_id, rank.rank, rank.score, rank.member_count)
