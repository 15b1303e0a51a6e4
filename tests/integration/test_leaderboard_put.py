"""`Leaderboard.put`: exact copies from a store of record, applied in revision order."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from leaderboard import (
    BoardConfig,
    Leaderboard,
    Leaderboards,
    LoadEntry,
    MemberMetadata,
    Put,
    TiePolicy,
)

pytestmark = pytest.mark.integration

T0 = 1_763_856_000_000


@pytest.fixture
def board(redis_client: redis.Redis, redis_prefix: str) -> Leaderboard:
    boards = Leaderboards(redis_client, key_prefix=redis_prefix)
    return boards.period(BoardConfig("xp", tie_policy=TiePolicy.COMPETITION), "all")


async def test_put_sets_the_exact_score_and_returns_the_rank(board: Leaderboard) -> None:
    assert await board.put("ann", 50, reached_at_ms=T0, revision=1) == 1
    assert await board.put("bob", 70, reached_at_ms=T0, revision=1) == 1
    assert await board.put("ann", 70, reached_at_ms=T0 + 5, revision=2) == 1  # tied: competition

    entries = await board.top(10)
    assert [(e.member_id, e.score, e.rank) for e in entries] == [("bob", 70, 1), ("ann", 70, 1)]


async def test_an_older_revision_arriving_late_changes_nothing(board: Leaderboard) -> None:
    await board.put("ann", 30, reached_at_ms=T0 + 2, revision=2)
    await board.put("bob", 20, reached_at_ms=T0, revision=1)

    rank = await board.put("ann", 10, reached_at_ms=T0 + 1, revision=1)

    found = await board.rank_of("ann")
    assert found is not None
    assert (found.score, found.rank, rank) == (30, 1, 1)


async def test_remove_forgets_the_revision_so_a_new_history_can_start(board: Leaderboard) -> None:
    await board.put("ann", 30, reached_at_ms=T0, revision=7)
    assert await board.remove("ann")

    await board.put("ann", 5, reached_at_ms=T0, revision=1, metadata=MemberMetadata("Ann"))

    found = await board.rank_of("ann")
    assert found is not None
    assert (found.score, found.metadata) == (5, MemberMetadata("Ann"))


@pytest.mark.parametrize(
    ("policy", "indexed"),
    [(TiePolicy.DENSE, True), (TiePolicy.COMPETITION, False), (TiePolicy.FIRST_TO_REACH, False)],
)
async def test_only_dense_boards_keep_a_distinct_score_index(
    redis_client: redis.Redis, redis_prefix: str, policy: TiePolicy, indexed: bool
) -> None:
    boards = Leaderboards(redis_client, key_prefix=redis_prefix)
    board = boards.period(BoardConfig("idx", tie_policy=policy), "all")

    await board.submit("ann", 5, at_ms=T0)
    await board.put("bob", 5, reached_at_ms=T0 + 1, revision=1)
    await board.load([LoadEntry("cy", 9, T0), LoadEntry("dee", 9, T0 + 1)])

    exists = await redis_client.exists(board.keys.distinct, board.keys.refcount)
    assert exists == (2 if indexed else 0)
    assert [e.rank for e in await board.top(2)] == [
        1,
        1 if policy is not TiePolicy.FIRST_TO_REACH else 2,
    ]


async def test_put_many_applies_every_put_in_one_pipeline(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    boards = Leaderboards(redis_client, key_prefix=redis_prefix)
    xp = boards.period(BoardConfig("xp"), "all")
    coins = boards.period(BoardConfig("coins"), "all")
    await redis_client.script_flush()  # the pipeline loads the script and runs again

    ranks = await boards.put_many(
        [
            Put(xp, "ann", 50, T0, 1),
            Put(coins, "ann", 5, T0, 1),
            Put(xp, "bob", 70, T0, 1),
            Put(xp, "ann", 40, T0, 2, MemberMetadata("Ann")),
            Put(xp, "bob", 10, T0, 1),  # an older revision: ignored
        ]
    )

    assert ranks == [1, 1, 1, 2, 1]
    assert [(e.member_id, e.score) for e in await xp.top(10)] == [("bob", 70), ("ann", 40)]
    found = await xp.rank_of("ann")
    assert found is not None
    assert found.metadata == MemberMetadata("Ann")
    assert await boards.put_many([]) == []
