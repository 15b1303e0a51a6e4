"""`Leaderboard`: one board-period's async operations, each one Redis round trip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from leaderboard import bulk, lua
from leaderboard.encoding import (
    MAX_AROUND_SIZE,
    MAX_FRIENDS,
    MAX_PAGE_SIZE,
    check_at_ms,
    check_count,
    check_idempotency_key,
    check_member_id,
    check_metadata,
    check_score,
    encode_metadata,
    fingerprint,
    member_id_of,
    reached_prefix,
    score_of,
)
from leaderboard.errors import (
    IdempotencyConflict,
    InvalidArgument,
    LimitExceeded,
    NotLoaded,
    ScoreOverflow,
)
from leaderboard.keys import BoardKeys, check_prefix
from leaderboard.models import (
    BoardConfig,
    Entry,
    MemberMetadata,
    MemberRank,
    Page,
    SortOrder,
    SubmitResult,
)
from leaderboard.ranking import TOP, Anchor, member_rank, order_key, percentile, slice_ranks
from leaderboard.replies import (
    SubmitRecord,
    array,
    friend_rows,
    integer,
    metadata,
    slice_entries,
    text,
)
from leaderboard.scripts import Arg, RedisClient, run, run_many

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_PAGE_NUMBER = 2**32 - 1  # a sorted set holds at most 2^32 - 1 members
_NO_FINGERPRINT = "-"


class Leaderboard:
    """One period of one board on a `redis.asyncio.Redis` or `RedisCluster` client."""

    def __init__(
        self,
        client: RedisClient,
        board: BoardConfig,
        period_id: str,
        *,
        key_prefix: str,
        require_loaded: bool = False,
    ) -> None:
        """With `require_loaded`, the board-period is a copy of a store of record: until a
        `load` made it (and again once it is lost), every read and write but `load`, `count`,
        `clear`, `delete` and `expire_at` raises NotLoaded and changes nothing."""
        if not isinstance(board, BoardConfig):
            raise InvalidArgument("board", "must be a BoardConfig")
        self.board = board
        self.period_id = period_id
        self.keys = BoardKeys.of(key_prefix, board.board_id, period_id)
        self.require_loaded = require_loaded
        self._client = client
        self._policy = board.tie_policy.value

    async def loaded(self) -> bool:
        """Whether a `load` made this copy and it has not been lost since."""
        return bool(await self._client.exists(self.keys.loaded))

    async def checksum(self) -> tuple[int, int] | None:
        """(member count, sum of the members' put or loaded revisions) of a loaded copy, read
        together; None when not loaded. Equal to the store of record's, the copy is exact."""
        return _checksum(await run(self._client, lua.CHECKSUM, self.checksum_keys, []))

    @property
    def checksum_keys(self) -> list[str]:
        return [self.keys.scores, self.keys.loaded]

    async def _run(self, source: str, keys: Sequence[str], args: Sequence[Arg]) -> object:
        """One script on this board-period, refused with NotLoaded where the board requires."""
        source, keys = self.call(source, keys)
        return self.checked(await run(self._client, source, keys, args))

    def call(self, source: str, keys: Sequence[str]) -> tuple[str, list[str]]:
        """The script and keys to run: guarded by the `loaded` key where the board requires."""
        if not self.require_loaded:
            return source, list(keys)
        return lua.guarded(source), [self.keys.loaded, *keys]

    def checked(self, reply: object) -> object:
        """A guarded script's reply, or NotLoaded."""
        if isinstance(reply, bytes | str) and text(reply) == lua.UNLOADED:
            raise NotLoaded(self.board.board_id, self.period_id)
        return reply

    async def submit(
        self,
        member_id: str,
        value: int,
        *,
        at_ms: int,
        idempotency_key: str | None = None,
        metadata: MemberMetadata | None = None,
    ) -> SubmitResult:
        """Aggregate `value` into the member's score, reached at `at_ms`; return score and rank.

        A retry with the same `idempotency_key` (kept for the board's idempotency TTL) returns
        the first result with `replayed=True` and changes nothing; reusing the key for another
        member or value raises IdempotencyConflict. `metadata`, if given, is stored alongside.
        """
        check_member_id(member_id)
        check_score(value, "value")
        check_at_ms(at_ms)
        keys = [*self.keys.data, self.keys.expiry]
        expected = _NO_FINGERPRINT
        if idempotency_key is not None:
            keys.append(self.keys.idempotency(check_idempotency_key(idempotency_key)))
            expected = fingerprint(member_id, value)
        sign = -1 if self.board.sort_order is SortOrder.HIGHER_IS_BETTER else 1
        args: list[Arg] = [member_id, value, reached_prefix(at_ms), sign]
        args += [self.board.aggregation.value, expected, self.board.idempotency_ttl_ms]
        args += [*_metadata_args(metadata), self._policy]
        reply = array(await self._run(lua.SUBMIT, keys, args))
        status = text(reply[0])
        if status == "overflow":
            raise ScoreOverflow(member_id)
        record = SubmitRecord.parse(reply[1])
        if record.fingerprint != expected:
            raise IdempotencyConflict(idempotency_key or "")
        rank = member_rank(record.anchor, self.board.tie_policy)
        return SubmitResult(member_id, record.score, rank, replayed=status == "replay")

    async def put(
        self,
        member_id: str,
        score: int,
        *,
        reached_at_ms: int,
        revision: int,
        metadata: MemberMetadata | None = None,
    ) -> int:
        """Set the member's score exactly, as a store of record decided it; return its rank.

        For a service that aggregates elsewhere (say, in a database) and copies each result
        here after it commits: copies can arrive out of order, so a put whose `revision` is
        not above the member's last one changes nothing. `remove` forgets the revision.
        """
        keys, args = self.put_call(
            member_id, score, reached_at_ms=reached_at_ms, revision=revision, metadata=metadata
        )
        return self.put_rank(await self._run(lua.PUT, keys, args))

    def put_call(
        self,
        member_id: str,
        score: int,
        *,
        reached_at_ms: int,
        revision: int,
        metadata: MemberMetadata | None = None,
    ) -> tuple[list[str], list[Arg]]:
        """The checked keys and arguments of a put, for `Leaderboards.put_many`."""
        check_member_id(member_id)
        check_score(score)
        check_at_ms(reached_at_ms, "reached_at_ms")
        if type(revision) is not int or revision < 0:
            raise InvalidArgument("revision", "must be an int >= 0")
        sign = -1 if self.board.sort_order is SortOrder.HIGHER_IS_BETTER else 1
        keys = [*self.keys.data, self.keys.expiry, self.keys.loaded]
        args: list[Arg] = [member_id, score, reached_prefix(reached_at_ms), sign, revision]
        args += [*_metadata_args(metadata), self._policy]
        return keys, args

    def put_rank(self, reply: object) -> int:
        """The member's rank from a put's reply; NotLoaded if the put was refused."""
        position, ahead, distinct_ahead = text(self.checked(reply)).split()
        anchor = Anchor(int(position), int(ahead), int(distinct_ahead))
        return member_rank(anchor, self.board.tie_policy)

    async def top(self, n: int) -> list[Entry]:
        """The best `n` (1..1000) entries."""
        check_count("n", n, MAX_PAGE_SIZE)
        found, _ = await self._page(0, n - 1)
        return found

    async def page(self, page_number: int, page_size: int) -> Page:
        """Page `page_number` (from 1) of `page_size` (1..1000) entries; empty past the end."""
        check_count("page_size", page_size, MAX_PAGE_SIZE)
        check_count("page_number", page_number, _MAX_PAGE_NUMBER)
        start = (page_number - 1) * page_size
        found, member_count = await self._page(start, start + page_size - 1)
        return Page(tuple(found), page_number, page_size, member_count)

    async def around(self, member_id: str, size: int) -> list[Entry]:
        """A window of `size` (1..1000) entries with the member at its centre.

        (size - 1) // 2 entries come before the member where the board allows; at the top or
        bottom the window shifts so it still holds `size` entries (or the whole board, if
        smaller). A member not on the board gets an empty list.
        """
        check_member_id(member_id)
        check_count("size", size, MAX_AROUND_SIZE)
        keys = [self.keys.scores, self.keys.index, self.keys.distinct, self.keys.metadata]
        reply = array(await self._run(lua.AROUND, keys, [member_id, size, self._policy]))
        return slice_entries(reply[1], self.board) if len(reply) > 1 else []

    async def rank_of(self, member_id: str) -> MemberRank | None:
        """The member's rank, score and percentile (see `MemberRank`), or None if absent."""
        check_member_id(member_id)
        keys = [self.keys.scores, self.keys.index, self.keys.distinct, self.keys.metadata]
        reply = array(await self._run(lua.RANK_OF, keys, [member_id, self._policy]))
        if len(reply) == 1:
            return None
        total, stored, position, ahead, distinct_ahead, meta = reply
        count = integer(total)
        anchor = Anchor(integer(position), integer(ahead), integer(distinct_ahead))
        policy = self.board.tie_policy
        return MemberRank(
            member_id=member_id,
            score=score_of(integer(stored), self.board.sort_order),
            rank=member_rank(anchor, policy),
            percentile=percentile(anchor, count, policy),
            member_count=count,
            metadata=metadata(meta),
        )

    async def count(self) -> int:
        """How many members are on the board."""
        return int(await self._client.zcard(self.keys.scores))

    async def remove(self, member_id: str) -> bool:
        """Take the member and its metadata off the board; False if it was not on it."""
        check_member_id(member_id)
        keys = [*self.keys.data, self.keys.loaded]
        reply = await self._run(lua.REMOVE, keys, [member_id, self._policy])
        return integer(reply) == 1

    async def set_metadata(self, member_id: str, metadata: MemberMetadata) -> None:
        """Store what reads return beside the member; empty metadata deletes it."""
        check_member_id(member_id)
        check_metadata(metadata)
        keys = [self.keys.metadata, self.keys.expiry]
        await self._run(lua.SET_METADATA, keys, [member_id, *_metadata_args(metadata)])

    async def friends(self, member_ids: Sequence[str]) -> list[Entry]:
        """The given members (up to 1000) ranked among themselves by the board's tie policy.

        Ids not on the board are left out; repeated ids count once.
        """
        if isinstance(member_ids, str | bytes):
            raise InvalidArgument("member_ids", "must be a sequence of member ids, not a string")
        if len(member_ids) > MAX_FRIENDS:
            raise LimitExceeded("member_ids", f"must hold at most {MAX_FRIENDS} ids")
        unique = list(dict.fromkeys(check_member_id(m, "member_ids") for m in member_ids))
        if not unique:
            return []
        keys = [self.keys.scores, self.keys.index, self.keys.metadata]
        rows = friend_rows(await self._run(lua.FRIENDS, keys, unique))
        rows.sort(key=lambda row: order_key(row[0], row[1]))
        ranks = slice_ranks([row[1] for row in rows], TOP, self.board.tie_policy)
        order = self.board.sort_order
        return [
            Entry(member_id_of(encoded), score_of(stored, order), rank, meta)
            for (encoded, stored, meta), rank in zip(rows, ranks, strict=True)
        ]

    async def clear(self) -> None:
        """Remove every member's score and revision; metadata and the retention deadline stay."""
        await run(self._client, lua.DELETE, self.keys.standings, [])

    async def delete(self) -> None:
        """Remove every key of the board-period (idempotency records expire on their own)."""
        keys = [*self.keys.data, self.keys.expiry, self.keys.loaded, *self.keys.superseded]
        await run(self._client, lua.DELETE, keys, [])

    async def load(self, entries: bulk.Entries, *, chunk_size: int = 1000) -> int:
        """Replace the standings with ledger rows; return the member count (see `bulk.load`)."""
        board = self.board
        return await bulk.load(
            self._client, self.keys, board.sort_order, board.tie_policy, entries, chunk_size
        )

    async def expire_at(self, when: dt.datetime) -> None:
        """Delete the whole board-period at `when` (an aware datetime; the past deletes now).

        Keys that later writes create inherit the same deadline.
        """
        if not isinstance(when, dt.datetime) or when.utcoffset() is None:
            raise InvalidArgument("when", "must be a timezone-aware datetime")
        at_ms = (when - _EPOCH) // dt.timedelta(milliseconds=1)
        keys = [*self.keys.data, self.keys.loaded, self.keys.expiry]
        await run(self._client, lua.EXPIRE_AT, keys, [at_ms])

    async def _page(self, start: int, stop: int) -> tuple[list[Entry], int]:
        """Entries at positions start..stop and the member count, read together."""
        keys = [self.keys.scores, self.keys.distinct, self.keys.metadata]
        reply = array(await self._run(lua.PAGE, keys, [start, stop, self._policy]))
        return slice_entries(reply[1], self.board), integer(reply[0])


class Leaderboards:
    """The boards of one deployment: a client and the key prefix every board-period shares."""

    def __init__(
        self, client: RedisClient, *, key_prefix: str, require_loaded: bool = False
    ) -> None:
        """`require_loaded` applies to every board-period (see `Leaderboard`)."""
        check_prefix(key_prefix)
        self._client = client
        self.key_prefix = key_prefix
        self.require_loaded = require_loaded

    def period(self, board: BoardConfig, period_id: str) -> Leaderboard:
        """The board-period `period_id` of `board` (see `leaderboard.periods` for ids)."""
        return Leaderboard(
            self._client, board, period_id, key_prefix=self.key_prefix,
            require_loaded=self.require_loaded,
        )  # fmt: skip

    async def loaded(self, boards: Sequence[Leaderboard]) -> list[bool]:
        """`Leaderboard.loaded` of each board-period, in one pipeline."""
        if not boards:
            return []
        pipe = self._client.pipeline(transaction=False)
        for board in boards:
            pipe.exists(board.keys.loaded)
        return [bool(found) for found in await pipe.execute()]

    async def checksums(self, boards: Sequence[Leaderboard]) -> list[tuple[int, int] | None]:
        """`Leaderboard.checksum` of each board-period, in one pipeline."""
        calls: list[tuple[Sequence[str], Sequence[Arg]]] = [
            (board.checksum_keys, []) for board in boards
        ]
        return [_checksum(reply) for reply in await run_many(self._client, lua.CHECKSUM, calls)]

    async def put_many(self, puts: Sequence[Put]) -> list[int | None]:
        """Several `Leaderboard.put`s in one pipeline (one round trip per node); the ranks,
        in order, None where a board-period requires loading (see `Leaderboard`) and changed
        nothing. A failure fails them all."""
        calls = [
            put.board.put_call(
                put.member_id, put.score, reached_at_ms=put.reached_at_ms,
                revision=put.revision, metadata=put.metadata,
            )
            for put in puts
        ]  # fmt: skip
        guarded = [
            put.board.call(lua.PUT, keys) for put, (keys, _) in zip(puts, calls, strict=True)
        ]
        source = guarded[0][0] if guarded else lua.PUT
        replies = await run_many(
            self._client,
            source,
            [(keys, args) for (_, keys), (_, args) in zip(guarded, calls, strict=True)],
        )
        return [_put_rank(put.board, reply) for put, reply in zip(puts, replies, strict=True)]


@dataclass(frozen=True, slots=True)
class Put:
    """One `Leaderboard.put`, for `Leaderboards.put_many`."""

    board: Leaderboard
    member_id: str
    score: int
    reached_at_ms: int
    revision: int
    metadata: MemberMetadata | None = None


def _checksum(reply: object) -> tuple[int, int] | None:
    parts = array(reply)
    return (integer(parts[0]), integer(parts[1])) if parts else None


def _put_rank(board: Leaderboard, reply: object) -> int | None:
    try:
        return board.put_rank(reply)
    except NotLoaded:
        return None


def _metadata_args(value: MemberMetadata | None) -> list[Arg]:
    """The (mode, JSON) script arguments: keep, set or delete the member's metadata."""
    if value is None:
        return ["keep", ""]
    encoded = encode_metadata(check_metadata(value))
    return ["set", encoded] if encoded else ["del", ""]
