"""Leaderboard writes on a real Redis: idempotency, concurrency, exact scores, removal, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as redis

from leaderboard import (
    Aggregation,
    BoardConfig,
    IdempotencyConflict,
    InvalidArgument,
    Leaderboard,
    Leaderboards,
    LimitExceeded,
    MemberMetadata,
    ScoreOutOfRange,
    ScoreOverflow,
    SortOrder,
    SubmitResult,
    TiePolicy,
)
from tests.support.leaderboard_keys import keys_under

pytestmark = pytest.mark.integration

T0 = 1_763_856_000_000
LIMIT = 2**53


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends, to prove one round trip per operation."""

    sent = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


async def test_a_retried_submit_returns_the_first_result_without_a_second_effect(
    boards: Leaderboards, redis_client: redis.Redis
) -> None:
    board = boards.period(BoardConfig("idem", aggregation=Aggregation.SUM), "p")
    first = await board.submit("a", 5, at_ms=T0, idempotency_key="evt-1")
    await board.submit("b", 9, at_ms=T0)  # moves "a" down after the first result

    retried = await board.submit("a", 5, at_ms=T0 + 60_000, idempotency_key="evt-1")

    assert first == SubmitResult("a", 5, 1, replayed=False)
    assert retried == SubmitResult("a", 5, 1, replayed=True)
    found = await board.rank_of("a")
    assert found is not None
    assert (found.score, found.rank) == (5, 2)
    ttl = await redis_client.pttl(board.keys.idempotency("evt-1"))
    assert 0 < ttl <= board.board.idempotency_ttl_ms


async def test_reusing_an_idempotency_key_for_another_submission_is_refused(
    boards: Leaderboards,
) -> None:
    board = boards.period(BoardConfig("idem2", aggregation=Aggregation.SUM), "p")
    await board.submit("a", 5, at_ms=T0, idempotency_key="evt-1")

    with pytest.raises(IdempotencyConflict, match="evt-1"):
        await board.submit("a", 6, at_ms=T0, idempotency_key="evt-1")
    with pytest.raises(IdempotencyConflict):
        await board.submit("b", 5, at_ms=T0, idempotency_key="evt-1")

    assert [(e.member_id, e.score) for e in await board.top(5)] == [("a", 5)]


@pytest.mark.usefixtures("boards")
async def test_two_hundred_concurrent_increments_give_the_exact_sum(
    redis_server_url: str, prefix: str
) -> None:
    # A pool of its own: the default async pool refuses more than 100 connections at once.
    client = redis.Redis.from_url(redis_server_url, max_connections=200)
    board = Leaderboard(
        client, BoardConfig("race", aggregation=Aggregation.SUM), "p", key_prefix=prefix
    )
    try:
        results = await asyncio.gather(*(board.submit("a", n, at_ms=T0 + n) for n in range(1, 201)))
        found = await board.rank_of("a")
    finally:
        await client.aclose()

    # Sorted by the score each saw, every increment adds exactly its own value to the one before.
    seen = sorted(zip((r.score for r in results), range(1, 201), strict=True))
    assert [score for score, _ in seen] == list(itertools.accumulate(n for _, n in seen))
    assert found is not None
    assert found.score == sum(range(1, 201))


async def test_concurrent_retries_of_one_key_apply_once(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("race2", aggregation=Aggregation.SUM), "p")

    results = await asyncio.gather(
        *(board.submit("a", 7, at_ms=T0, idempotency_key="evt") for _ in range(50))
    )

    assert [r.replayed for r in results].count(False) == 1
    assert {(r.score, r.rank) for r in results} == {(7, 1)}
    found = await board.rank_of("a")
    assert found is not None
    assert found.score == 7


@pytest.mark.parametrize("order", list(SortOrder))
async def test_scores_at_two_to_the_53_are_exact(boards: Leaderboards, order: SortOrder) -> None:
    board = boards.period(BoardConfig("edge", order, Aggregation.LAST), "p")
    values = {"max": LIMIT, "max-1": LIMIT - 1, "min": -LIMIT, "min+1": -LIMIT + 1, "zero": 0}
    for member, value in values.items():
        assert (await board.submit(member, value, at_ms=T0)).score == value

    ranked = await board.top(10)

    by_value = sorted(values, key=values.__getitem__, reverse=order is SortOrder.HIGHER_IS_BETTER)
    assert [(e.member_id, e.score, e.rank) for e in ranked] == [
        (member, values[member], rank) for rank, member in enumerate(by_value, start=1)
    ]


async def test_scores_beyond_two_to_the_53_are_refused(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("beyond", aggregation=Aggregation.SUM), "p")

    for value in (LIMIT + 1, -LIMIT - 1):
        with pytest.raises(ScoreOutOfRange, match="value"):
            await board.submit("a", value, at_ms=T0)
    with pytest.raises(ScoreOutOfRange, match="value"):
        await board.submit("a", 1.0, at_ms=T0)  # type: ignore[arg-type]

    assert await board.count() == 0


@pytest.mark.parametrize(("start", "step"), [(LIMIT - 1, 2), (-LIMIT + 1, -2), (LIMIT, 1)])
async def test_a_sum_that_would_leave_the_range_changes_nothing(
    boards: Leaderboards, start: int, step: int
) -> None:
    board = boards.period(BoardConfig("overflow", aggregation=Aggregation.SUM), "p")
    await board.submit("a", start, at_ms=T0)

    with pytest.raises(ScoreOverflow, match="'a'"):
        await board.submit("a", step, at_ms=T0 + 1, idempotency_key="evt")

    found = await board.rank_of("a")
    assert found is not None
    assert found.score == start
    # The refused submit left no idempotency record: a valid retry is applied.
    assert (await board.submit("a", -step, at_ms=T0 + 2, idempotency_key="evt")).score == (
        start - step
    )


async def test_sums_reach_the_limit_exactly(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("reach", aggregation=Aggregation.SUM), "p")
    await board.submit("a", LIMIT - 3, at_ms=T0)

    assert (await board.submit("a", 3, at_ms=T0)).score == LIMIT
    assert (await board.submit("a", -LIMIT, at_ms=T0)).score == 0
    assert (await board.submit("a", -LIMIT, at_ms=T0)).score == -LIMIT


@pytest.mark.parametrize("order", list(SortOrder))
async def test_one_millisecond_decides_a_tie_at_todays_epoch(
    boards: Leaderboards, order: SortOrder
) -> None:
    board = boards.period(BoardConfig("ms", order, Aggregation.LAST), "p")
    await board.submit("aaa", LIMIT - 1, at_ms=T0 + 1)
    await board.submit("zzz", LIMIT - 1, at_ms=T0)

    assert [(e.member_id, e.rank) for e in await board.top(2)] == [("zzz", 1), ("aaa", 2)]


async def test_remove_takes_the_member_out_of_every_index(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("remove", tie_policy=TiePolicy.DENSE), "p")
    for member, score in [("a", 10), ("b", 10), ("c", 5)]:
        await board.submit(member, score, at_ms=T0, metadata=MemberMetadata(member.upper()))

    assert await board.remove("a") is True
    assert [(e.member_id, e.rank) for e in await board.top(5)] == [("b", 1), ("c", 2)]
    assert await board.remove("b") is True
    assert [(e.member_id, e.rank) for e in await board.top(5)] == [("c", 1)]
    assert await board.remove("b") is False
    assert await board.count() == 1

    await board.submit("a", 1, at_ms=T0)  # back on the board, without its old metadata
    assert [(e.member_id, e.metadata) for e in await board.top(5)] == [
        ("c", MemberMetadata("C")),
        ("a", None),
    ]


async def test_clear_keeps_metadata_and_delete_removes_every_key(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("wipe"), "p")
    other = boards.period(BoardConfig("wipe"), "q")
    await board.submit("a", 1, at_ms=T0, metadata=MemberMetadata("A"))
    await other.submit("a", 1, at_ms=T0)

    await board.clear()
    assert await board.count() == 0
    await board.submit("b", 1, at_ms=T0)
    assert await redis_client.hget(board.keys.metadata, "a") is not None

    await board.expire_at(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    await board.delete()
    left = set(await keys_under(redis_client, prefix))
    assert not {key for key in left if key.startswith(board.keys.tag)}
    assert await other.count() == 1


async def test_expire_at_sets_the_deadline_on_every_key_and_later_keys(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("retention", tie_policy=TiePolicy.DENSE), "d2026-11-22")
    for n in range(100):  # enough to split the member index into several buckets
        await board.submit(f"m{n}", n, at_ms=T0)
    before = dt.datetime.now(dt.UTC)
    deadline = before.replace(microsecond=0) + dt.timedelta(days=2)
    expected_ms = int(deadline.timestamp()) * 1000
    before_ms = int(before.timestamp() * 1000)

    await board.expire_at(deadline)
    await board.set_metadata("m0", MemberMetadata("A"))  # creates the metadata key afterwards
    for n in range(100, 400):  # and buckets split off afterwards
        await board.submit(f"m{n}", n, at_ms=T0)

    version = (await redis_client.info("server"))["redis_version"]
    present = await keys_under(redis_client, prefix)
    assert {*board.keys.data, board.keys.expiry, board.keys.bucket(9)} <= set(present)
    for key in present:
        assert 0 < await redis_client.pttl(key) <= expected_ms - before_ms
        if int(version.split(".")[0]) >= 7:  # PEXPIRETIME came with Redis 7
            assert await redis_client.pexpiretime(key) == expected_ms
    assert int(await redis_client.get(board.keys.expiry) or 0) == expected_ms


async def test_a_deadline_in_the_past_deletes_the_board(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("past"), "d2020-01-01")
    await board.submit("a", 1, at_ms=T0)

    await board.expire_at(dt.datetime(2020, 1, 2, tzinfo=dt.UTC))

    assert await board.count() == 0
    assert await board.rank_of("a") is None


async def test_bad_arguments_are_refused_before_anything_is_written(
    boards: Leaderboards, redis_client: redis.Redis, prefix: str
) -> None:
    board = boards.period(BoardConfig("limits"), "p")
    calls: list[tuple[type[Exception], Callable[[], Awaitable[object]]]] = [
        (LimitExceeded, lambda: board.page(1, 0)),
        (LimitExceeded, lambda: board.page(1, 1001)),
        (LimitExceeded, lambda: board.page(0, 10)),
        (LimitExceeded, lambda: board.top(1001)),
        (LimitExceeded, lambda: board.around("a", 0)),
        (LimitExceeded, lambda: board.around("a", 1001)),
        (LimitExceeded, lambda: board.friends([f"m{n}" for n in range(1001)])),
        (InvalidArgument, lambda: board.friends("abc")),
        (InvalidArgument, lambda: board.submit("", 1, at_ms=T0)),
        (InvalidArgument, lambda: board.submit("x" * 129, 1, at_ms=T0)),
        (InvalidArgument, lambda: board.submit("a", 1, at_ms=-1)),
        (InvalidArgument, lambda: board.submit("a", 1, at_ms=T0, idempotency_key="")),
        (
            InvalidArgument,
            lambda: board.submit("a", 1, at_ms=T0, metadata=MemberMetadata("x" * 65)),
        ),
        (InvalidArgument, lambda: board.set_metadata("a", None)),  # type: ignore[arg-type]
        (InvalidArgument, lambda: board.expire_at(dt.datetime(2030, 1, 1))),  # naive
    ]
    for error, call in calls:
        with pytest.raises(error):
            await call()

    assert await keys_under(redis_client, prefix) == []
    with pytest.raises(InvalidArgument, match="period_id"):
        boards.period(BoardConfig("limits"), "{other}")


async def test_every_operation_is_one_round_trip(redis_server_url: str, prefix: str) -> None:
    client = CountingRedis.from_url(redis_server_url)
    assert isinstance(client, CountingRedis)
    board = Leaderboard(client, BoardConfig("trips"), "p", key_prefix=prefix)
    operations = {
        "submit": lambda: board.submit("a", 1, at_ms=T0, idempotency_key="k"),
        "set_metadata": lambda: board.set_metadata("a", MemberMetadata("A")),
        "top": lambda: board.top(10),
        "page": lambda: board.page(1, 10),
        "around": lambda: board.around("a", 5),
        "rank_of": lambda: board.rank_of("a"),
        "friends": lambda: board.friends(["a", "b"]),
        "count": board.count,
        "remove": lambda: board.remove("a"),
        "expire_at": lambda: board.expire_at(dt.datetime(2100, 1, 1, tzinfo=dt.UTC)),
        "clear": board.clear,
        "delete": board.delete,
    }
    try:
        for operation in operations.values():
            await operation()  # the first call may load the script
        sent = {}
        for name, operation in operations.items():
            before = client.sent
            await operation()
            sent[name] = client.sent - before
        assert sent == dict.fromkeys(operations, 1)
    finally:
        await client.delete(board.keys.idempotency("k"))
        await client.aclose()


async def test_a_client_that_decodes_responses_reads_the_same(
    redis_server_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server_url, decode_responses=True)
    board = Leaderboard(client, BoardConfig("decoded"), "p", key_prefix=prefix)
    try:
        await board.submit("ann", 2, at_ms=T0, metadata=MemberMetadata("Ann"), idempotency_key="k")
        retried = await board.submit("ann", 2, at_ms=T0, idempotency_key="k")
        top = await board.top(1)
        found = await board.rank_of("ann")
        friends = await board.friends(["ann"])
    finally:
        await board.delete()
        await client.delete(board.keys.idempotency("k"))
        await client.aclose()

    assert retried == SubmitResult("ann", 2, 1, replayed=True)
    assert [(e.member_id, e.score, e.rank, e.metadata) for e in [*top, *friends]] == [
        ("ann", 2, 1, MemberMetadata("Ann")),
    ] * 2
    assert found is not None
    assert (found.score, found.rank, found.percentile) == (2, 1, 100.0)
