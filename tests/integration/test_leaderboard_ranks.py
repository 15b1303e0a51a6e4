"""Leaderboard ranks on a real Redis: each tie policy, sort order and aggregation, each read."""

from __future__ import annotations

import zlib

import pytest

from leaderboard import (
    Aggregation,
    BoardConfig,
    Entry,
    Leaderboard,
    Leaderboards,
    MemberMetadata,
    SortOrder,
    TiePolicy,
)
from tests.support import leaderboard_reference as model

pytestmark = pytest.mark.integration

HIGHER = SortOrder.HIGHER_IS_BETTER
LOWER = SortOrder.LOWER_IS_BETTER
T0 = 1_763_856_000_000


def rows(entries: list[Entry] | tuple[Entry, ...]) -> list[tuple[str, int, int]]:
    return [(e.member_id, e.score, e.rank) for e in entries]


async def everything(board: Leaderboard, page_size: int) -> list[Entry]:
    """The full standings, read page by page."""
    found: list[Entry] = []
    number = 1
    while entries := (await board.page(number, page_size)).entries:
        found.extend(entries)
        number += 1
    return found


@pytest.mark.parametrize("policy", list(TiePolicy))
@pytest.mark.parametrize("aggregation", list(Aggregation))
@pytest.mark.parametrize("order", list(SortOrder))
async def test_every_read_agrees_with_the_model(
    boards: Leaderboards, order: SortOrder, aggregation: Aggregation, policy: TiePolicy
) -> None:
    board = boards.period(BoardConfig("matrix", order, aggregation, policy), "all")
    seed = zlib.crc32(f"{order}/{aggregation}/{policy}".encode())
    state: dict[str, model.Held] = {}

    for submission in model.random_submissions(seed, members=25, count=150):
        result = await board.submit(submission.member_id, submission.value, at_ms=submission.at_ms)
        held = model.apply(state, submission, aggregation)
        expected_rank = model.rank(state, submission.member_id, order, policy)
        assert (result.score, result.rank, result.replayed) == (held.score, expected_rank, False)

    expected = [(s.member_id, s.score, s.rank) for s in model.standings(state, order, policy)]
    assert rows(await everything(board, page_size=4)) == expected
    assert await board.count() == len(state)
    for index, (member, score, rank) in enumerate(expected):
        found = await board.rank_of(member)
        assert found is not None
        share = 100.0 * (len(state) - model.ahead(state, member, order, policy)) / len(state)
        assert (found.score, found.rank, found.percentile) == (score, rank, share)
        start = max(0, min(index - 2, len(expected) - 5))
        assert rows(await board.around(member, 5)) == expected[start : start + 5]

    chosen = sorted(state)[::3]
    subset = {member: state[member] for member in chosen}
    among = [(s.member_id, s.score, s.rank) for s in model.standings(subset, order, policy)]
    assert rows(await board.friends([*chosen, "nobody", chosen[0]])) == among


@pytest.mark.parametrize(
    ("order", "policy", "expected"),
    [
        (HIGHER, TiePolicy.FIRST_TO_REACH, [("b", 1), ("a", 2), ("c", 3), ("d", 4), ("e", 5)]),
        (HIGHER, TiePolicy.DENSE, [("b", 1), ("a", 1), ("c", 2), ("d", 2), ("e", 3)]),
        (HIGHER, TiePolicy.COMPETITION, [("b", 1), ("a", 1), ("c", 3), ("d", 3), ("e", 5)]),
        (LOWER, TiePolicy.FIRST_TO_REACH, [("e", 1), ("c", 2), ("d", 3), ("b", 4), ("a", 5)]),
        (LOWER, TiePolicy.DENSE, [("e", 1), ("c", 2), ("d", 2), ("b", 3), ("a", 3)]),
        (LOWER, TiePolicy.COMPETITION, [("e", 1), ("c", 2), ("d", 2), ("b", 4), ("a", 4)]),
    ],
)
async def test_hand_worked_tie_examples(
    boards: Leaderboards, order: SortOrder, policy: TiePolicy, expected: list[tuple[str, int]]
) -> None:
    board = boards.period(BoardConfig("ties", order, Aggregation.LAST, policy), "all")
    for member, score, at in [("a", 10, 2), ("b", 10, 1), ("c", 7, 0), ("d", 7, 3), ("e", 3, 4)]:
        await board.submit(member, score, at_ms=T0 + at)

    assert [(e.member_id, e.rank) for e in await board.top(10)] == expected


async def test_reaching_a_score_by_increments_counts_from_the_last_increment(
    boards: Leaderboards,
) -> None:
    board = boards.period(BoardConfig("reach", HIGHER, Aggregation.SUM), "all")
    await board.submit("slow", 5, at_ms=T0 + 1)
    await board.submit("steady", 10, at_ms=T0 + 3)
    await board.submit("slow", 5, at_ms=T0 + 5)  # reaches 10 after "steady" did
    await board.submit("steady", 0, at_ms=T0 + 9)  # no change: keeps the earlier time

    assert rows(await board.top(2)) == [("steady", 10, 1), ("slow", 10, 2)]


async def test_a_worse_best_score_keeps_the_time_of_the_best(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("best", LOWER, Aggregation.MIN), "all")
    await board.submit("a", 42, at_ms=T0 + 1)
    await board.submit("b", 42, at_ms=T0 + 2)
    await board.submit("a", 50, at_ms=T0 + 3)

    assert rows(await board.top(2)) == [("a", 42, 1), ("b", 42, 2)]


@pytest.mark.parametrize(
    ("policy", "pages"),
    [
        (TiePolicy.FIRST_TO_REACH, [[1, 2], [3, 4], [5, 6]]),
        (TiePolicy.DENSE, [[1, 1], [1, 2], [2, 3]]),
        (TiePolicy.COMPETITION, [[1, 1], [1, 4], [4, 6]]),
    ],
)
async def test_pages_keep_tie_groups_that_straddle_them(
    boards: Leaderboards, policy: TiePolicy, pages: list[list[int]]
) -> None:
    board = boards.period(BoardConfig("pages", tie_policy=policy, aggregation=Aggregation.MAX), "p")
    for at, (member, score) in enumerate([("a", 10), ("b", 10), ("c", 10), ("d", 9), ("e", 9)]):
        await board.submit(member, score, at_ms=T0 + at)
    await board.submit("f", 8, at_ms=T0)

    found = [await board.page(number, 2) for number in (1, 2, 3, 4)]

    assert [[e.rank for e in page.entries] for page in found] == [*pages, []]
    assert [e.member_id for page in found for e in page.entries] == list("abcdef")
    assert {(page.member_count, page.page_count) for page in found} == {(6, 3)}


@pytest.mark.parametrize(
    ("member", "size", "window"),
    [
        ("m01", 5, "m01 m02 m03 m04 m05"),
        ("m02", 5, "m01 m02 m03 m04 m05"),
        ("m05", 5, "m03 m04 m05 m06 m07"),
        ("m09", 5, "m06 m07 m08 m09 m10"),
        ("m10", 5, "m06 m07 m08 m09 m10"),
        ("m05", 4, "m04 m05 m06 m07"),
        ("m05", 1, "m05"),
        ("m05", 1000, "m01 m02 m03 m04 m05 m06 m07 m08 m09 m10"),
    ],
)
async def test_around_centres_on_the_member_and_clips_at_the_edges(
    boards: Leaderboards, member: str, size: int, window: str
) -> None:
    board = boards.period(BoardConfig("around", tie_policy=TiePolicy.COMPETITION), "p")
    for n in range(1, 11):
        await board.submit(f"m{n:02d}", 100 - n, at_ms=T0)

    found = await board.around(member, size)

    assert " ".join(e.member_id for e in found) == window
    assert [e.rank for e in found] == [int(e.member_id[1:]) for e in found]


async def test_around_and_rank_of_a_member_not_on_the_board(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("absent"), "p")
    await board.submit("someone", 1, at_ms=T0)

    assert await board.around("nobody", 5) == []
    assert await board.rank_of("nobody") is None


async def test_percentiles_of_tied_and_untied_members(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("pct", tie_policy=TiePolicy.COMPETITION), "p")
    for member, score in [("a", 9), ("b", 9), ("c", 5), ("d", 1)]:
        await board.submit(member, score, at_ms=T0)

    found = [await board.rank_of(member) for member in "abcd"]

    assert [(r.rank, r.percentile, r.member_count) for r in found if r] == [
        (1, 100.0, 4),
        (1, 100.0, 4),
        (3, 50.0, 4),
        (4, 25.0, 4),
    ]


async def test_reads_return_metadata_beside_entries(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("meta"), "p")
    fox = MemberMetadata(display_name="Zoë 🦊", avatar_url="https://cdn.example/z.png")
    await board.submit("zoe", 5, at_ms=T0, metadata=fox)
    await board.submit("ann", 3, at_ms=T0)
    await board.set_metadata("ann", MemberMetadata(display_name="Ann"))

    top = await board.top(2)
    mine = await board.rank_of("zoe")

    assert [e.metadata for e in top] == [fox, MemberMetadata(display_name="Ann")]
    assert mine is not None
    assert mine.metadata == fox
    assert [e.metadata for e in await board.around("ann", 1)] == [MemberMetadata("Ann")]
    assert [e.metadata for e in await board.friends(["ann"])] == [MemberMetadata("Ann")]

    await board.set_metadata("ann", MemberMetadata())
    await board.submit("zoe", 1, at_ms=T0 + 1)  # metadata left out: it stays

    assert [e.metadata for e in await board.top(2)] == [fox, None]
    await board.submit("zoe", 1, at_ms=T0 + 2, metadata=MemberMetadata())  # empty: deleted
    assert [e.metadata for e in await board.top(2)] == [None, None]


async def test_friends_are_ranked_among_themselves(boards: Leaderboards) -> None:
    board = boards.period(BoardConfig("friends", tie_policy=TiePolicy.DENSE), "p")
    for member, score in [("a", 50), ("b", 40), ("c", 40), ("d", 30), ("e", 20)]:
        await board.submit(member, score, at_ms=T0)

    assert rows(await board.friends(["e", "c", "b", "x"])) == [
        ("b", 40, 1),
        ("c", 40, 1),
        ("e", 20, 2),
    ]
    assert await board.friends([]) == []
    assert await board.friends(["nobody"]) == []
