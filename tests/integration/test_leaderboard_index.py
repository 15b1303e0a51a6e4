"""The member index on a real Redis: buckets that split as a board grows, stay compact and
always agree with the standings, through submits, puts, removals, loads and deletes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from leaderboard import (
    Aggregation,
    BoardConfig,
    Leaderboard,
    Leaderboards,
    LoadEntry,
    LoadLost,
    SortOrder,
    TiePolicy,
    bulk,
)
from leaderboard.lua import BUCKET_LOAD
from tests.support.leaderboard_keys import keys_under

pytestmark = pytest.mark.integration

T0 = 1_763_856_000_000


def text(value: object) -> str:
    assert isinstance(value, bytes)
    return value.decode()


async def buckets(client: redis.Redis, board: Leaderboard) -> dict[str, dict[str, str]]:
    """Every bucket of the board's member index: name -> {member id: value}."""
    found = {}
    async for key in client.scan_iter(match=f"{board.keys.index}:*", count=1000):
        raw = await client.hgetall(key)
        found[text(key)] = {text(k): text(v) for k, v in raw.items()}
    return found


async def assert_index_matches(client: redis.Redis, board: Leaderboard) -> dict[str, str]:
    """The index holds exactly the standings' members, each once, with the time its encoded
    member carries, in listpack-encoded buckets of the expected number; returns it."""
    index: dict[str, str] = {}
    found = await buckets(client, board)
    for name, bucket in found.items():
        assert await client.object("encoding", name) == b"listpack"
        assert not index.keys() & bucket.keys()
        index.update(bucket)
    encoded = [text(member) for member in await client.zrange(board.keys.scores, 0, -1)]
    assert {member[14:]: member[:13] for member in encoded} == {
        member_id: value[:13] for member_id, value in index.items()
    }
    assert len(found) <= await bucket_count(client, board)
    assert len(index) <= BUCKET_LOAD * await bucket_count(client, board)
    return index


async def bucket_count(client: redis.Redis, board: Leaderboard) -> int:
    level, split = await client.hmget(board.keys.index, "level", "split")
    return int(2 ** int(level or 0) + int(split or 0))


async def test_a_growing_board_splits_its_index_and_finds_every_member(
    boards: Leaderboards, redis_client: redis.Redis
) -> None:
    board = boards.period(
        BoardConfig("grow", aggregation=Aggregation.MAX, tie_policy=TiePolicy.DENSE), "p"
    )
    rng = random.Random(5)
    scores: dict[str, int] = {}
    reached: dict[str, int] = {}
    for n in range(1500):
        member_id = f"player-{rng.randrange(2000)}"
        if member_id not in scores or n % 97 > scores[member_id]:
            scores[member_id], reached[member_id] = n % 97, T0 + n
        await board.submit(member_id, n % 97, at_ms=T0 + n)

    index = await assert_index_matches(redis_client, board)
    assert len(index) == len(scores) > 20 * BUCKET_LOAD
    assert await bucket_count(redis_client, board) == -(-len(scores) // BUCKET_LOAD)  # no more
    for member_id in rng.sample(sorted(scores), 200):
        found = await board.rank_of(member_id)
        assert found is not None
        assert found.score == scores[member_id]
    some = rng.sample(sorted(scores), 50)
    friends = await board.friends([*some, "nobody"])
    assert [e.member_id for e in friends] == sorted(some, key=lambda m: (-scores[m], reached[m], m))
    window = await board.around(some[0], 11)
    assert len(window) == 11
    assert some[0] in [e.member_id for e in window]


async def test_puts_keep_their_revisions_in_the_index_and_removals_leave_it(
    boards: Leaderboards, redis_client: redis.Redis
) -> None:
    board = boards.period(BoardConfig("revisions"), "p")
    for n in range(300):
        await board.put(f"m{n}", n, reached_at_ms=T0, revision=1000 + n)
    await board.submit("m5", 10**6, at_ms=T0 + 1)  # a submit keeps the member's revision

    assert await board.put("m5", 1, reached_at_ms=T0, revision=1005) == 1  # not newer: ignored
    for n in range(0, 300, 3):
        assert await board.remove(f"m{n}")
    assert not await board.remove("m0")

    index = await assert_index_matches(redis_client, board)
    assert len(index) == 200
    assert index["m5"] == f"{T0 + 1}1005"
    assert await board.rank_of("m3") is None
    assert await board.put("m3", 7, reached_at_ms=T0, revision=1) is not None  # removed: fresh


async def test_a_load_builds_the_index_in_buckets_and_swaps_it_whole(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("bulk"), "p")
    for n in range(500):
        await board.submit(f"old{n}", n, at_ms=T0)
    entries = [LoadEntry(f"new{n}", n, T0 + n, revision=n) for n in range(2000)]

    assert await board.load(entries, chunk_size=300) == 2000

    index = await assert_index_matches(redis_client, board)
    assert set(index) == {entry.member_id for entry in entries}
    assert index["new42"] == f"{T0 + 42}42"
    assert await board.checksum() == (2000, sum(range(2000)))
    assert [key for key in await keys_under(redis_client, prefix) if ":load:" in key] == []


async def test_a_load_whose_staged_rows_expired_changes_nothing(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("lost"), "p")
    await board.submit("live", 1, at_ms=T0)

    async def rows() -> AsyncIterator[LoadEntry]:
        for n in range(400):
            yield LoadEntry(f"m{n}", n, T0)
        # As if the pause before the last chunk outlasted a bucket's staging TTL.
        staged = [key for key in await keys_under(redis_client, prefix) if ":load:" in key]
        await redis_client.delete(next(key for key in staged if key.endswith(":index:1")))
        yield LoadEntry("last", 9, T0)

    with pytest.raises(LoadLost):
        await board.load(rows(), chunk_size=100)

    assert [(e.member_id, e.score) for e in await board.top(10)] == [("live", 1)]
    assert [key for key in await keys_under(redis_client, prefix) if ":load:" in key] == []


async def test_a_load_removes_the_superseded_layout_and_delete_removes_every_bucket(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("layout"), "p")
    old_members, old_revisions, old_loaded = board.keys.superseded
    await redis_client.hset(old_members, "a", f"{T0:013d}")
    await redis_client.hset(old_revisions, "a", "3")
    await redis_client.hset(old_loaded, "revisions", "3")

    assert not await board.loaded()  # a copy in that layout is loaded again
    await board.load(LoadEntry(f"m{n}", n, T0) for n in range(1000))
    assert not await redis_client.exists(*board.keys.superseded)
    assert len(await buckets(redis_client, board)) > 20

    await board.delete()
    assert await keys_under(redis_client, prefix) == []


async def test_renewing_a_staged_index_renews_every_bucket(
    boards: Leaderboards, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = boards.period(BoardConfig("renewed"), "p")
    staging = board.keys.staging("renew-test")
    frames = "".join(bulk._frame(LoadEntry(f"m{n}", n, T0), SortOrder.HIGHER_IS_BETTER)
                     for n in range(2000))  # fmt: skip
    await bulk._load_chunk(redis_client, (*staging, board.keys.metadata), TiePolicy.DENSE, frames)
    aged = [key.decode() async for key in redis_client.scan_iter(match=f"{staging[1]}:*")]
    for key in aged:  # as if no chunk had written them for a while
        await redis_client.pexpire(key, 60_000)
    monkeypatch.setattr(bulk, "_RENEW_SLICE", 7)  # several slices

    await bulk._renew(redis_client, staging[1])

    assert len(aged) == 2000 // BUCKET_LOAD
    assert all([await redis_client.pttl(key) > 60_000 for key in aged])
