"""Board-periods that must be loaded first: the `loaded` marker, NotLoaded, loads with revisions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from leaderboard import (
    BoardConfig,
    Entry,
    Leaderboards,
    LoadEntry,
    MemberMetadata,
    NotLoaded,
    Put,
    TiePolicy,
)

pytestmark = pytest.mark.integration

T0 = 1_763_856_000_000


@pytest.fixture
async def boards(redis_client: redis.Redis) -> AsyncIterator[Leaderboards]:
    prefix = f"lbtest-{uuid.uuid4().hex}"
    yield Leaderboards(redis_client, key_prefix=prefix, require_loaded=True)
    stale = [key async for key in redis_client.scan_iter(match=f"{{{prefix}:*", count=1000)]
    if stale:
        await redis_client.delete(*stale)


async def test_an_unloaded_board_period_refuses_reads_and_writes(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("b"), "p")
    assert not await board.loaded()
    with pytest.raises(NotLoaded):
        await board.put("ann", 5, reached_at_ms=T0, revision=1)
    for read in (board.top(10), board.around("ann", 3), board.rank_of("ann")):
        with pytest.raises(NotLoaded):
            await read
    with pytest.raises(NotLoaded):
        await board.friends(["ann"])
    with pytest.raises(NotLoaded):
        await board.submit("ann", 1, at_ms=T0)
    with pytest.raises(NotLoaded):
        await board.remove("ann")
    assert await board.count() == 0  # the refusals wrote nothing


async def test_a_load_marks_the_copy_loaded_until_it_is_lost(
    boards: Leaderboards, redis_client: redis.Redis
) -> None:
    board = boards.period(BoardConfig("b", tie_policy=TiePolicy.DENSE), "p")
    assert await board.load([]) == 0
    assert await board.loaded()
    assert await board.put("ann", 5, reached_at_ms=T0, revision=1) == 1
    await redis_client.delete(board.keys.loaded)  # as a flush or a lost node would
    assert await boards.put_many([Put(board, "bob", 9, T0, 2)]) == [None]
    with pytest.raises(NotLoaded):
        await board.top(10)
    await board.delete()
    assert not await board.loaded()


async def test_a_load_records_revisions_and_metadata(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("b"), "p")
    entries = [
        LoadEntry("ann", 20, T0, revision=7, metadata=MemberMetadata("Ann", "https://a/x.png")),
        LoadEntry("bob", 10, T0, revision=3),
    ]
    assert await board.load(entries) == 2
    # A copy older than the load arrives late: the loaded revision keeps it out.
    assert await board.put("ann", 1, reached_at_ms=T0, revision=6) == 1
    assert await board.put("bob", 30, reached_at_ms=T0 + 1, revision=4) == 1
    assert await board.top(3) == [
        Entry("bob", 30, 1, None),
        Entry("ann", 20, 2, MemberMetadata("Ann", "https://a/x.png")),
    ]


async def test_expiry_takes_the_marker_along(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("b"), "p")
    await board.load([LoadEntry("ann", 1, T0)])
    await board.expire_at(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert not await board.loaded()
    later = boards.period(BoardConfig("b"), "q")
    await later.expire_at(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    await later.load([LoadEntry("ann", 1, T0)])
    assert await later.loaded()


async def test_loaded_checks_many_in_one_pipeline(boards: Leaderboards) -> None:
    first, second = (boards.period(BoardConfig("b"), p) for p in ("p1", "p2"))
    await second.load([])
    assert await boards.loaded([first, second]) == [False, True]
    assert await boards.loaded([]) == []


async def test_the_checksum_follows_puts_removals_and_loads(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("b"), "p")
    assert await board.checksum() is None
    await board.load([LoadEntry("ann", 5, T0, revision=10), LoadEntry("bob", 3, T0)])
    assert await board.checksum() == (2, 10)
    await board.put("bob", 4, reached_at_ms=T0, revision=12)
    await board.put("ann", 6, reached_at_ms=T0, revision=15)
    await board.put("ann", 1, reached_at_ms=T0, revision=14)  # older: refused, sum unchanged
    await board.put("cy", 1, reached_at_ms=T0, revision=2**52)
    assert await board.checksum() == (3, 15 + 12 + 2**52)
    assert await board.remove("bob")
    other = boards.period(BoardConfig("b"), "q")
    assert await boards.checksums([board, other]) == [(2, 15 + 2**52), None]
