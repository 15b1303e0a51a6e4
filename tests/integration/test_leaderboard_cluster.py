"""The leaderboard on a real 3-master Redis Cluster that the test starts from redis-server."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from redis.asyncio import RedisCluster

from leaderboard import (
    Aggregation,
    BoardConfig,
    Leaderboard,
    Leaderboards,
    LoadEntry,
    MemberMetadata,
    Put,
    SortOrder,
    SubmitResult,
    TiePolicy,
)
from tests.support import redis_cluster as cluster_support

pytestmark = pytest.mark.integration
redis_cluster = cluster_support.redis_cluster

T0 = 1_763_856_000_000


async def boards_on_every_master(client: RedisCluster, boards: Leaderboards) -> list[Leaderboard]:
    """One board-period per master, found by trying board ids until each master owns one."""
    await client.initialize()
    by_node: dict[str, Leaderboard] = {}
    policies = list(TiePolicy)
    for n in range(1000):
        policy = policies[len(by_node) % len(policies)]
        board = boards.period(BoardConfig(f"b{n}", tie_policy=policy), "w2026-11-16")
        node = client.get_node_from_key(board.keys.tag)
        assert node is not None
        by_node.setdefault(node.name, board)
        if len(by_node) == 3:
            break
    return list(by_node.values())


async def exercise(board: Leaderboard, client: RedisCluster) -> None:
    await write_sample(board)
    await check_reads(board)
    await check_rebuild_and_retention(board, client)


async def write_sample(board: Leaderboard) -> None:
    first = await board.submit("ann", 10, at_ms=T0 + 1, idempotency_key="e1")
    again = await board.submit("ann", 10, at_ms=T0 + 1, idempotency_key="e1")
    assert first == SubmitResult("ann", 10, 1, replayed=False)
    assert again == SubmitResult("ann", 10, 1, replayed=True)
    await board.submit("bob", 10, at_ms=T0, metadata=MemberMetadata("Bob"))
    await board.submit("cat", 4, at_ms=T0)
    await asyncio.gather(*(board.submit("dan", 1, at_ms=T0 + 2) for _ in range(20)))
    await board.set_metadata("cat", MemberMetadata("Cat", "https://cdn.example/c.png"))


async def check_reads(board: Leaderboard) -> None:
    ranks = {
        TiePolicy.FIRST_TO_REACH: [1, 2, 3, 4],
        TiePolicy.DENSE: [1, 2, 2, 3],
        TiePolicy.COMPETITION: [1, 2, 2, 4],
    }[board.board.tie_policy]
    expected = list(zip(["dan", "bob", "ann", "cat"], [20, 10, 10, 4], ranks, strict=True))
    assert [(e.member_id, e.score, e.rank) for e in await board.top(10)] == expected
    page = await board.page(2, 2)
    assert [(e.member_id, e.score, e.rank) for e in page.entries] == expected[2:]
    assert [e.member_id for e in await board.around("cat", 2)] == ["ann", "cat"]
    ann = await board.rank_of("ann")
    assert ann is not None
    assert (ann.score, ann.rank, ann.member_count) == (10, ranks[2], 4)
    assert [e.member_id for e in await board.friends(["cat", "bob", "zed"])] == ["bob", "cat"]
    assert (await board.top(4))[-1].metadata == MemberMetadata("Cat", "https://cdn.example/c.png")
    assert await board.count() == 4


async def check_rebuild_and_retention(board: Leaderboard, client: RedisCluster) -> None:
    assert await board.remove("dan") is True
    assert await board.load([LoadEntry("ann", 3, T0), LoadEntry("bob", 3, T0 + 1)]) == 2
    bob_rank = 2 if board.board.tie_policy is TiePolicy.FIRST_TO_REACH else 1
    assert [(e.member_id, e.rank) for e in await board.top(5)] == [("ann", 1), ("bob", bob_rank)]
    await board.expire_at(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert await client.pttl(board.keys.scores) > 0
    keys = [*board.keys.data, board.keys.expiry, board.keys.bucket(0)]
    slots = {await client.cluster_keyslot(key) for key in keys}
    assert len(slots) == 1
    await board.delete()
    assert await board.count() == 0


async def test_the_main_operations_on_a_three_master_cluster(
    redis_cluster: cluster_support.ClusterNodes,
) -> None:
    client = RedisCluster(host=redis_cluster.host, port=redis_cluster.ports[0])
    try:
        boards = Leaderboards(client, key_prefix=f"lbtest-{uuid.uuid4().hex}")
        chosen = await boards_on_every_master(client, boards)
        assert len(chosen) == 3

        # Run on all three masters at once; the first calls load the scripts (NOSCRIPT).
        await asyncio.gather(*(exercise(board, client) for board in chosen))

        await client.script_flush()  # every master forgets the scripts: they are loaded again
        again = boards.period(
            BoardConfig("again", SortOrder.LOWER_IS_BETTER, Aggregation.MIN), "all"
        )
        assert (await again.submit("ann", 9, at_ms=T0)).rank == 1
        assert (await again.submit("ann", 12, at_ms=T0)).score == 9

        # One pipeline across the three masters, after they forgot the scripts again.
        await client.script_flush()
        puts = [Put(board, "zed", 1, T0, 1) for board in chosen]
        assert await boards.put_many(puts) == [1, 1, 1]
    finally:
        await client.aclose()
