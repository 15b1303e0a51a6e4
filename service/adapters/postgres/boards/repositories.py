"""Postgres implementations of the board definition and score ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.postgres.boards.exclusion_repository import member_lock
from service.adapters.postgres.boards.tables import (
    board_period_keys,
    board_periods,
    board_repairs,
    board_scores,
    board_standings,
)
from service.adapters.postgres.driver import Driver
from service.adapters.postgres.unnest import arrays
from service.app.boards.ports import (
    REMOVED,
    BoardKey,
    MemberInfo,
    ScoreRow,
    StandingRow,
    Submission,
)
from service.domain.boards import Aggregation, BoardDefinition, SortOrder, TiePolicy

_KEY = ("board_id", "partition", "period_id", "rookie")
# Statements over a whole board-period (a snapshot, a rebuild's read) may outlast the
# per-statement timeout of request paths by far: a million members take seconds.
BULK_TIMEOUT_SECONDS = 600.0


def _lock_key(key: BoardKey) -> str:
    return f"board-period:{key.board_id}:{key.partition}:{key.period_id}"


_AGGREGATE = {
    Aggregation.SUM: "s.score + excluded.score",
    Aggregation.MAX: "greatest(s.score, excluded.score)",
    Aggregation.MIN: "least(s.score, excluded.score)",
    Aggregation.LAST: "excluded.score",
}


def _record_statement(aggregation: Aggregation) -> str:
    # One round trip for many submissions to one board-period, each by another member: the
    # ledger insert is the idempotency record, and an aggregate is only touched when its
    # insert happened. reached_at moves only when the score changes. Revisions come from one
    # sequence, so they keep rising even after a member is removed and scores again: a copy
    # in Redis is never mistaken for a newer one. Rows are written in member order, so
    # concurrent writers cannot deadlock.
    # $1 board_id, $2 board_version, $3 partition, $4 period_id; then one array each of
    # member_id, value, occurred_at, idempotency_key, at_ms, and whether the rookie board
    # counts the submission too.
    new = _AGGREGATE[aggregation]
    return f"""
        with wanted as (
            select * from unnest($5::text[], $6::bigint[], $7::timestamptz[], $8::text[],
                                 $9::bigint[], $10::boolean[])
                as u(member_id, value, occurred_at, idempotency_key, at_ms, rookie)
        ), ledger as (
            insert into score_ledger (board_id, board_version, partition, period_id, member_id,
                                      value, occurred_at, idempotency_key)
            select $1, $2, $3, $4, member_id, value, occurred_at, idempotency_key from wanted
            on conflict (board_id, idempotency_key) do nothing
            returning idempotency_key, member_id
        ), fresh as (
            select w.member_id, w.value, w.at_ms, r.rookie
            from wanted as w join ledger as l using (idempotency_key, member_id)
            cross join (values (false), (true)) as r(rookie)
            where w.rookie or not r.rookie
        ), period_keys as (
            insert into board_period_keys (board_id, period_id, partition, rookie)
            select distinct $1::text, $4::text, $3::text, rookie from fresh
            on conflict do nothing
        )
        insert into board_scores as s (board_id, partition, period_id, rookie, member_id, score,
                                       reached_at_ms, revision)
        select $1, $3, $4, rookie, member_id, value, at_ms, nextval('board_score_revisions')
        from fresh order by rookie, member_id
        on conflict (board_id, partition, period_id, rookie, member_id) do update set
            score = {new},
            reached_at_ms = case when {new} = s.score then s.reached_at_ms
                                 else excluded.reached_at_ms end,
            revision = nextval('board_score_revisions')
        returning member_id, rookie, score, reached_at_ms, revision
    """


_RECORD = {aggregation: _record_statement(aggregation) for aggregation in Aggregation}
# Prebuilt SQL for the submit path, run on the driver (prepared once per connection).
_PERIOD_LOCK = """
    select pg_advisory_xact_lock_shared(hashtext($5)) is null as never,
           exists(select 1 from board_periods where board_id = $1
                  and partition = $2 and period_id = $3 and rookie = $4) as final
"""
# Scores' locks, in the order every writer takes them: the period's, then the members' in
# member order (see exclusion_repository); whether a member is excluded is read by the next
# statement.
_SCORE_LOCKS = f"""
    select pg_advisory_xact_lock_shared(hashtext($5)) is null as never,
           (select count(pg_advisory_xact_lock_shared({member_lock("m")}))
            from unnest($6::text[]) as m) is null as held,
           exists(select 1 from board_periods where board_id = $1
                  and partition = $2 and period_id = $3 and rookie = $4) as final
"""
# Finalisation locks in a statement of its own, so that the check after it sees what a
# finalisation it waited for committed: a statement's snapshot predates its lock waits.
_PERIOD_LOCK_EXCLUSIVE = "select pg_advisory_xact_lock(hashtext($1))"
_IS_FINAL = """
    select exists(select 1 from board_periods where board_id = $1
                  and partition = $2 and period_id = $3 and rookie = $4) as final
"""
# A member's row is written only for its first score or an earlier one: an upsert on every
# score wrote (or at least locked) the row each time, with its WAL. New rows are inserted in
# member order, so concurrent callers cannot deadlock.
_TOUCH_MEMBERS = """
    with wanted as (
        select u.member_id, u.at from unnest($2::text[], $3::timestamptz[]) as u(member_id, at)
    ), found as (
        select m.member_id, m.first_seen_at, m.display_name, m.avatar_url
        from board_members as m join wanted as w on m.board_id = $1 and m.member_id = w.member_id
    ), touched as (
        insert into board_members (board_id, member_id, first_seen_at)
        select $1, w.member_id, w.at from wanted as w
        where not exists (
            select 1 from found as f where f.member_id = w.member_id and f.first_seen_at <= w.at)
        order by w.member_id
        on conflict (board_id, member_id) do update set first_seen_at = excluded.first_seen_at
            where board_members.first_seen_at > excluded.first_seen_at
        returning member_id, first_seen_at, display_name, avatar_url
    )
    select m.*, exists(select from board_exclusions as e where e.member_id = m.member_id)
        as excluded
    from (select * from touched
          union all
          select * from found where member_id not in (select member_id from touched)) as m
"""
_RECORDED = """
    select member_id, partition, value, period_id from score_ledger
    where board_id = $1 and idempotency_key = $2
"""
_USED_KEYS = """
    select idempotency_key from score_ledger
    where board_id = $1 and idempotency_key = any($2::text[])
"""
_CURRENT = """
    select score, reached_at_ms, revision from board_scores
    where board_id = $1 and partition = $2 and period_id = $3 and rookie = $4
      and member_id = $5
"""
_ROWS = """
    select member_id, score, reached_at_ms, revision from board_scores
    where board_id = $1 and partition = $2 and period_id = $3 and rookie = $4
"""
_PERIODS = """
    select k.period_id, exists (
        select from board_periods p where p.board_id = k.board_id
        and p.partition = k.partition and p.period_id = k.period_id and not p.rookie
    ) as final
    from board_period_keys k
    where k.board_id = $1 and k.partition = $2 and not k.rookie
      and ($3::text is null or k.period_id < $3::text)
    order by k.period_id desc limit $4
"""
_METADATA_OF = """
    select m.member_id, m.display_name, m.avatar_url
    from board_scores s join board_members m using (board_id, member_id)
    where s.board_id = $1 and s.partition = $2 and s.period_id = $3 and s.rookie = $4
      and (m.display_name is not null or m.avatar_url is not null)
"""
_CHECKSUM = """
    select count(*) as members, coalesce(sum(revision), 0) as total,
           coalesce(max(revision), 0) as latest
    from board_scores
    where board_id = $1 and partition = $2 and period_id = $3 and rookie = $4
"""
_KEY_STATE = """
    select exists(select 1 from board_period_keys where board_id = $1 and partition = $2
                  and period_id = $3 and rookie = $4) as known,
           exists(select 1 from board_periods where board_id = $1 and partition = $2
                  and period_id = $3 and rookie = $4) as final
"""
_KEPT_KEYS = """
    select k.partition, k.period_id, k.rookie from board_period_keys k
    left join board_periods p using (board_id, partition, period_id, rookie)
    where k.board_id = $1 and (p.finalized_at is null or p.finalized_at >= $2)
    order by k.period_id desc, k.partition, k.rookie
"""
_SET_METADATA = sa.text("""
    insert into board_members (board_id, member_id, first_seen_at, display_name, avatar_url)
    values (:board_id, :member_id, :at, :display_name, :avatar_url)
    on conflict (board_id, member_id) do update
        set display_name = excluded.display_name, avatar_url = excluded.avatar_url
""")


# Claims queued repairs (another replica skips them) and joins the current aggregates.
_TAKE_REPAIRS = sa.text("""
    with claimed as (
        delete from board_repairs
        where (board_id, partition, period_id, rookie, member_id) in (
            select board_id, partition, period_id, rookie, member_id from board_repairs
            order by queued_at limit :limit for update skip locked)
        returning board_id, partition, period_id, rookie, member_id
    )
    select c.board_id, c.partition, c.period_id, c.rookie, c.member_id,
           s.score, s.reached_at_ms, s.revision
    from claimed c left join board_scores s
        using (board_id, partition, period_id, rookie, member_id)
""")


def _order(board: BoardDefinition) -> str:
    """The SQL order of the library's ranking: score, then earlier reach, then member bytes."""
    direction = "desc" if board.sort_order is SortOrder.HIGHER_IS_BETTER else "asc"
    return f'score {direction}, reached_at_ms asc, member_id collate "C" asc'


def _rank(board: BoardDefinition) -> str:
    direction = "desc" if board.sort_order is SortOrder.HIGHER_IS_BETTER else "asc"
    return {
        TiePolicy.FIRST_TO_REACH: f"row_number() over (order by {_order(board)})",
        TiePolicy.DENSE: f"dense_rank() over (order by score {direction})",
        TiePolicy.COMPETITION: f"rank() over (order by score {direction})",
    }[board.tie_policy]


def _snapshot_statement(board: BoardDefinition) -> str:
    return f"""
        insert into board_standings (board_id, partition, period_id, rookie, rank, position,
                                     member_id, score)
        select board_id, partition, period_id, rookie, {_rank(board)},
               row_number() over (order by {_order(board)}), member_id, score
        from board_scores
        where board_id = $1 and partition = $2 and period_id = $3 and rookie = $4
    """


def _score_row(key: BoardKey, member_id: str, row: Mapping[Any, Any]) -> ScoreRow:
    return ScoreRow(key, member_id, row["score"], row["reached_at_ms"], row["revision"])


def _key_args(key: BoardKey) -> tuple[str, str, str, bool]:
    return (key.board_id, key.partition, key.period_id, key.rookie)


def _key_filter(table: sa.Table, key: BoardKey) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[name] == getattr(key, name) for name in _KEY))


class PostgresScores:
    """The score ledger, aggregates, finalised standings and the Redis repair queue."""

    def __init__(self, conn: AsyncConnection, driver: Driver) -> None:
        self._conn = conn
        self._driver = driver

    async def lock_period(
        self, key: BoardKey, *, exclusive: bool, member_ids: Sequence[str] = ()
    ) -> bool:
        args = (key.board_id, key.partition, key.period_id, key.rookie)
        if exclusive:
            assert not member_ids, "members are held by scores only"
            await self._driver.execute(_PERIOD_LOCK_EXCLUSIVE, _lock_key(key))
            row = await self._driver.fetchrow(_IS_FINAL, *args)
        elif member_ids:
            members = sorted(member_ids)
            row = await self._driver.fetchrow(_SCORE_LOCKS, *args, _lock_key(key), members)
        else:
            row = await self._driver.fetchrow(_PERIOD_LOCK, *args, _lock_key(key))
        assert row is not None
        return bool(row["final"])

    async def touch_members(
        self, board_id: str, first_scores: Mapping[str, dt.datetime]
    ) -> dict[str, MemberInfo]:
        args = (board_id, list(first_scores), list(first_scores.values()))
        rows = await self._driver.fetch(_TOUCH_MEMBERS, *args)
        if len(rows) < len(first_scores):
            # A member's first score, committed by another caller after this statement's
            # snapshot was taken, was neither inserted nor seen; the next statement sees it.
            rows = await self._driver.fetch(_TOUCH_MEMBERS, *args)
        return {
            r["member_id"]: MemberInfo(
                r["first_seen_at"], r["display_name"], r["avatar_url"], r["excluded"]
            )
            for r in rows
        }

    async def set_metadata(
        self, board_id: str, member_id: str, display_name: str, avatar_url: str, at: dt.datetime
    ) -> None:
        params = {
            "board_id": board_id,
            "member_id": member_id,
            "at": at,
            "display_name": display_name or None,
            "avatar_url": avatar_url or None,
        }
        await self._conn.execute(_SET_METADATA, params)

    async def member_keys(self, board_id: str, period_id: str, member_id: str) -> list[BoardKey]:
        stmt = sa.select(board_scores.c.partition, board_scores.c.rookie).where(
            board_scores.c.board_id == board_id,
            board_scores.c.period_id == period_id,
            board_scores.c.member_id == member_id,
        )
        rows = await self._conn.execute(stmt)
        return [BoardKey(board_id, r.partition, period_id, r.rookie) for r in rows]

    async def record(self, submissions: Sequence[tuple[Submission, bool]]) -> list[ScoreRow]:
        if not submissions:
            return []
        first = submissions[0][0]
        board = first.board
        rows = await self._driver.fetch(
            _RECORD[board.aggregation],
            board.board_id, board.version, first.partition, first.period_id,
            *arrays([
                (sub.member_id, sub.value, sub.occurred_at, sub.idempotency_key,
                 int(sub.occurred_at.timestamp() * 1000), rookie)
                for sub, rookie in submissions
            ], 6),
        )  # fmt: skip
        return [
            _score_row(
                BoardKey(board.board_id, first.partition, first.period_id, row["rookie"]),
                row["member_id"],
                row,
            )
            for row in rows
        ]

    async def recorded(
        self, board_id: str, idempotency_key: str
    ) -> tuple[str, str, int, str] | None:
        row = await self._driver.fetchrow(_RECORDED, board_id, idempotency_key)
        return (row["member_id"], row["partition"], row["value"], row["period_id"]) if row else None

    async def used_keys(self, board_id: str, idempotency_keys: Sequence[str]) -> set[str]:
        rows = await self._driver.fetch(_USED_KEYS, board_id, list(idempotency_keys))
        return {row["idempotency_key"] for row in rows}

    async def current(self, key: BoardKey, member_id: str) -> ScoreRow | None:
        args = (key.board_id, key.partition, key.period_id, key.rookie, member_id)
        row = await self._driver.fetchrow(_CURRENT, *args)
        return _score_row(key, member_id, row) if row else None

    async def rows(self, key: BoardKey) -> list[ScoreRow]:
        # On the driver: a million rows through SQLAlchemy's result objects take seconds more.
        found = await self._driver.fetch(_ROWS, *_key_args(key), timeout=BULK_TIMEOUT_SECONDS)
        return [_score_row(key, row["member_id"], row) for row in found]

    async def metadata_of(self, key: BoardKey) -> dict[str, tuple[str | None, str | None]]:
        found = await self._driver.fetch(
            _METADATA_OF, *_key_args(key), timeout=BULK_TIMEOUT_SECONDS
        )
        return {row["member_id"]: (row["display_name"], row["avatar_url"]) for row in found}

    async def checksum(self, key: BoardKey) -> tuple[int, int, int]:
        row = await self._driver.fetchrow(_CHECKSUM, *_key_args(key))
        assert row is not None
        return int(row["members"]), int(row["total"]), int(row["latest"])

    async def key_state(self, key: BoardKey) -> tuple[bool, bool]:
        row = await self._driver.fetchrow(_KEY_STATE, *_key_args(key))
        assert row is not None
        return bool(row["known"]), bool(row["final"])

    async def kept_keys(self, board_id: str, finalized_since: dt.datetime) -> list[BoardKey]:
        rows = await self._driver.fetch(_KEPT_KEYS, board_id, finalized_since)
        return [BoardKey(board_id, r["partition"], r["period_id"], r["rookie"]) for r in rows]

    async def finalize(self, key: BoardKey, board: BoardDefinition) -> int:
        params = {name: getattr(key, name) for name in _KEY}
        status = await self._driver.execute(
            _snapshot_statement(board), *_key_args(key), timeout=BULK_TIMEOUT_SECONDS
        )
        members = int(status.rsplit(" ", 1)[1])  # "INSERT 0 <rows>"
        await self._conn.execute(
            sa.insert(board_periods).values(**params, board_version=board.version, members=members)
        )
        return int(members)

    async def standings(self, key: BoardKey, offset: int, limit: int) -> list[StandingRow]:
        stmt = (
            sa.select(board_standings.c.rank, board_standings.c.member_id, board_standings.c.score)
            .where(_key_filter(board_standings, key))
            .order_by(board_standings.c.position)
            .offset(offset)
            .limit(limit)
        )
        result = await self._conn.execute(stmt)
        return [StandingRow(r.rank, r.member_id, r.score) for r in result]

    async def rewarded(self, key: BoardKey, last_rank: int) -> list[StandingRow]:
        stmt = (
            sa.select(board_standings.c.rank, board_standings.c.member_id, board_standings.c.score)
            .where(_key_filter(board_standings, key), board_standings.c.rank <= last_rank)
            .order_by(board_standings.c.position)
        )
        return [StandingRow(r.rank, r.member_id, r.score) for r in await self._conn.execute(stmt)]

    async def remove(self, key: BoardKey, member_id: str) -> bool:
        stmt = sa.delete(board_scores).where(
            _key_filter(board_scores, key), board_scores.c.member_id == member_id
        )
        return bool((await self._conn.execute(stmt)).rowcount)

    async def open_keys(self, board_id: str, period_id: str) -> list[BoardKey]:
        final = sa.select(board_periods.c.partition, board_periods.c.rookie).where(
            board_periods.c.board_id == board_id, board_periods.c.period_id == period_id
        )
        keys = board_period_keys.c
        stmt = (
            sa.select(keys.partition, keys.rookie)
            .where(keys.board_id == board_id, keys.period_id == period_id)
            .except_(final)
        )
        rows = await self._conn.execute(stmt)
        return [BoardKey(board_id, r.partition, period_id, r.rookie) for r in rows]

    async def periods(
        self, board_id: str, partition: str, below: str | None, limit: int
    ) -> list[tuple[str, bool]]:
        rows = await self._driver.fetch(_PERIODS, board_id, partition, below, limit)
        return [(r["period_id"], r["final"]) for r in rows]

    async def queue_repair(self, rows: Sequence[ScoreRow]) -> None:
        stmt = insert(board_repairs).on_conflict_do_nothing()
        await self._conn.execute(
            stmt,
            [{**{n: getattr(r.key, n) for n in _KEY}, "member_id": r.member_id} for r in rows],
        )

    async def take_repairs(self, limit: int) -> list[ScoreRow]:
        result = await self._conn.execute(_TAKE_REPAIRS, {"limit": limit})
        return [
            ScoreRow(
                BoardKey(r.board_id, r.partition, r.period_id, r.rookie),
                r.member_id,
                r.score or 0,
                r.reached_at_ms or 0,
                # A member without an aggregate was removed: the repair removes it too.
                r.revision if r.revision is not None else REMOVED,
            )
            for r in result
        ]
