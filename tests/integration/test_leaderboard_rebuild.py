"""Rebuilding boards from ledger rows with `load` on a real Redis: identical ranks, atomic swap."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from leaderboard import (
    Aggregation,
    BoardConfig,
    Entry,
    InvalidArgument,
    Leaderboard,
    Leaderboards,
    LoadEntry,
    MemberMetadata,
    ScoreOutOfRange,
    SortOrder,
    TiePolicy,
)
from tests.support import leaderboard_reference as model
from tests.support.leaderboard_keys import keys_under

pytestmark = pytest.mark.integration

T0 = 1_763_856_000_000


async def everything(board: Leaderboard) -> list[Entry]:
    found: list[Entry] = []
    number = 1
    while entries := (await board.page(number, 9)).entries:
        found.extend(entries)
        number += 1
    return found


@pytest.mark.parametrize("policy", list(TiePolicy))
@pytest.mark.parametrize("aggregation", list(Aggregation))
@pytest.mark.parametrize("order", list(SortOrder))
async def test_a_rebuild_from_the_ledger_gives_identical_standings(
    boards: Leaderboards, order: SortOrder, aggregation: Aggregation, policy: TiePolicy
) -> None:
    board = boards.period(BoardConfig("rebuild", order, aggregation, policy), "w2026-11-16")
    seed = zlib.crc32(f"{order}/{aggregation}/{policy}".encode())
    submissions = model.random_submissions(seed, members=40, count=200)
    for submission in submissions:
        await board.submit(submission.member_id, submission.value, at_ms=submission.at_ms)
    await board.set_metadata(submissions[0].member_id, MemberMetadata("first"))
    before = await everything(board)
    ranks_before = [await board.rank_of(entry.member_id) for entry in before]
    ledger = model.ledger_rows(model.fold(submissions, aggregation))
    random.Random(seed).shuffle(ledger)  # the ledger's row order must not matter

    await board.clear()  # as if Redis had been flushed (metadata aside)
    loaded = await board.load(ledger, chunk_size=7)

    assert loaded == len(ledger) == len(before)
    assert await everything(board) == before
    assert [await board.rank_of(entry.member_id) for entry in before] == ranks_before


async def test_load_replaces_the_standings_and_keeps_the_deadline(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("replace", tie_policy=TiePolicy.DENSE), "p")
    await board.submit("old", 100, at_ms=T0)
    await board.expire_at(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))

    await board.load([LoadEntry("a", 5, T0), LoadEntry("b", 7, T0), LoadEntry("c", 5, T0 - 1)])

    assert [(e.member_id, e.score, e.rank) for e in await board.top(10)] == [
        ("b", 7, 1),
        ("c", 5, 2),
        ("a", 5, 2),
    ]
    assert await board.rank_of("old") is None
    present = await keys_under(redis_client, prefix)
    assert board.keys.bucket(0) in present
    for key in present:
        assert await redis_client.pttl(key) > 15 * 60 * 1000  # the board's day, not staging's TTL


async def test_a_loaded_board_without_a_deadline_does_not_expire(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("persist", tie_policy=TiePolicy.DENSE), "all")

    await board.load(LoadEntry(f"m{n}", n, T0) for n in range(300))

    assert await board.count() == 300
    present = await keys_under(redis_client, prefix)
    assert {*board.keys.standings, board.keys.bucket(7)} <= set(present)
    for key in present:
        assert await redis_client.pttl(key) == -1


async def test_load_reads_an_async_source(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("async-source", SortOrder.LOWER_IS_BETTER), "p")

    async def rows() -> AsyncIterator[LoadEntry]:
        for n in range(5):
            yield LoadEntry(f"m{n}", 10 - n, T0)

    assert await board.load(rows(), chunk_size=2) == 5
    assert [e.member_id for e in await board.top(2)] == ["m4", "m3"]


async def test_an_empty_load_empties_the_board(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("empty"), "p")
    await board.submit("a", 1, at_ms=T0)

    assert await board.load([]) == 0
    assert await board.count() == 0


async def test_a_chunk_larger_than_a_bulk_slice_keeps_every_id_and_score_exact(
    boards: Leaderboards,
) -> None:
    """Ids of multi-byte characters and the extreme scores survive the framing of a chunk."""
    board = boards.period(BoardConfig("frames", tie_policy=TiePolicy.COMPETITION), "p")
    ids = ["zoë", "東京", "🙂", "a:b", "x" * 128, "é" * 128]
    entries = [LoadEntry(member_id, -(2**53) + n, T0 + n) for n, member_id in enumerate(ids)]
    entries.append(LoadEntry("top", 2**53, T0))
    entries += [LoadEntry(f"m{n}", n % 50, T0 + n) for n in range(2_500)]

    assert await board.load(entries, chunk_size=3_000) == len(entries)

    assert (await board.top(1))[0].member_id == "top"
    for entry in entries[:7]:
        ranked = await board.rank_of(entry.member_id)
        assert ranked is not None
        assert (ranked.member_id, ranked.score) == (entry.member_id, entry.score)


async def test_a_member_twice_in_one_chunk_is_refused(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("twice"), "p")

    with pytest.raises(InvalidArgument, match="'b' appears more than once"):
        await board.load([LoadEntry("a", 1, T0), LoadEntry("b", 2, T0), LoadEntry("b", 3, T0)])

    assert await board.count() == 0


@pytest.mark.parametrize(
    ("bad", "error", "field"),
    [
        (LoadEntry("a", 3, T0), InvalidArgument, "entries"),  # "a" again
        (LoadEntry("c", 2**53 + 1, T0), ScoreOutOfRange, "entries.score"),
        (LoadEntry("", 2, T0), InvalidArgument, "entries.member_id"),
        (LoadEntry("c", 2, -5), InvalidArgument, "entries.reached_at_ms"),
    ],
)
async def test_a_bad_row_leaves_the_board_and_redis_as_they_were(
    boards: Leaderboards,
    redis_client: redis.Redis,
    prefix: str,
    bad: LoadEntry,
    error: type[Exception],
    field: str,
) -> None:
    board = boards.period(BoardConfig("bad-rows"), "p")
    await board.submit("live", 1, at_ms=T0)
    keys_before = sorted(await keys_under(redis_client, prefix))

    with pytest.raises(error, match=field):
        # The first chunk is staged before the bad row in the second one shows up.
        await board.load([LoadEntry("a", 1, T0), LoadEntry("b", 2, T0), bad], chunk_size=2)

    assert [(e.member_id, e.score) for e in await board.top(10)] == [("live", 1)]
    assert sorted(await keys_under(redis_client, prefix)) == keys_before


async def test_staged_rows_expire_on_their_own_if_a_load_dies(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("staging", tie_policy=TiePolicy.DENSE), "p")
    ttls: list[int] = []

    async def rows() -> AsyncIterator[LoadEntry]:
        for n in range(4):
            yield LoadEntry(f"m{n}", n, T0)
        # Two chunks are in flight at most, so the first is staged by the time a third is
        # asked for; look at it as a crashed process would leave it.
        staged = [key for key in await keys_under(redis_client, prefix) if ":load:" in key]
        ttls.extend([await redis_client.pttl(key) for key in staged])
        yield LoadEntry("last", 9, T0)

    await board.load(rows(), chunk_size=2)

    assert len(ttls) == 4
    assert all(0 < ttl <= 15 * 60 * 1000 for ttl in ttls)
    assert [key for key in await keys_under(redis_client, prefix) if ":load:" in key] == []


async def test_load_works_on_a_one_connection_pool(redis_server_url: str, prefix: str) -> None:
    pool = redis.ConnectionPool.from_url(redis_server_url, max_connections=1)
    client = redis.Redis(connection_pool=pool)
    try:
        board = Leaderboards(client, key_prefix=prefix).period(BoardConfig("one-conn"), "p")
        rows = [LoadEntry(f"m{n}", n, T0) for n in range(25)]

        assert await board.load(rows, chunk_size=4) == 25
        assert [e.member_id for e in await board.top(3)] == ["m24", "m23", "m22"]
    finally:
        await client.delete(*await keys_under(client, prefix))
        await client.aclose()
