"""Rank arithmetic of every tie policy, against hand-worked examples and the naive model (pure)."""

from __future__ import annotations

import pytest

from leaderboard import Aggregation, SortOrder, TiePolicy
from leaderboard.encoding import encode_member, stored_score
from leaderboard.ranking import TOP, Anchor, member_rank, order_key, percentile, slice_ranks
from tests.support import leaderboard_reference as model

# Stored scores of a board in its unique order: two members tied at the top, then two, then one.
STORED = [-10, -10, -9, -9, -8]


@pytest.mark.parametrize(
    ("policy", "ranks"),
    [
        (TiePolicy.FIRST_TO_REACH, [1, 2, 3, 4, 5]),
        (TiePolicy.DENSE, [1, 1, 2, 2, 3]),
        (TiePolicy.COMPETITION, [1, 1, 3, 3, 5]),
    ],
)
def test_ranks_of_a_whole_board(policy: TiePolicy, ranks: list[int]) -> None:
    assert slice_ranks(STORED, TOP, policy) == ranks


@pytest.mark.parametrize(
    ("policy", "ranks"),
    [
        (TiePolicy.FIRST_TO_REACH, [2, 3, 4]),
        (TiePolicy.DENSE, [1, 2, 2]),
        (TiePolicy.COMPETITION, [1, 3, 3]),
    ],
)
def test_a_slice_starting_inside_a_tie_group_keeps_the_group_rank(
    policy: TiePolicy, ranks: list[int]
) -> None:
    # The slice holds positions 1..3; the member at position 0 shares its score.
    anchor = Anchor(position=1, ahead=0, distinct_ahead=0)

    assert slice_ranks(STORED[1:4], anchor, policy) == ranks


def test_percentile_counts_the_members_not_ranked_ahead() -> None:
    # Position 3 of 5, tied with position 2; two members are strictly better.
    anchor = Anchor(position=3, ahead=2, distinct_ahead=1)

    assert member_rank(anchor, TiePolicy.COMPETITION) == 3
    assert member_rank(anchor, TiePolicy.DENSE) == 2
    assert member_rank(anchor, TiePolicy.FIRST_TO_REACH) == 4
    assert percentile(anchor, 5, TiePolicy.COMPETITION) == 60.0
    assert percentile(anchor, 5, TiePolicy.DENSE) == 60.0
    assert percentile(anchor, 5, TiePolicy.FIRST_TO_REACH) == 40.0
    assert percentile(TOP, 5, TiePolicy.FIRST_TO_REACH) == 100.0


@pytest.mark.parametrize("policy", list(TiePolicy))
@pytest.mark.parametrize("order", list(SortOrder))
@pytest.mark.parametrize("seed", range(5))
def test_every_slice_agrees_with_the_naive_model(
    policy: TiePolicy, order: SortOrder, seed: int
) -> None:
    state = model.fold(model.random_submissions(seed, members=30, count=120), Aggregation.SUM)
    rows = sorted(
        (
            (encode_member(m, held.reached_at_ms), stored_score(held.score, order))
            for m, held in state.items()
        ),
        key=lambda row: order_key(*row),
    )
    expected = [s.rank for s in model.standings(state, order, policy)]
    stored = [row[1] for row in rows]

    for start in range(len(rows)):
        first = stored[start]
        anchor = Anchor(
            position=start,
            ahead=sum(1 for s in stored if s < first),
            distinct_ahead=len({s for s in stored if s < first}),
        )
        assert slice_ranks(stored[start : start + 7], anchor, policy) == expected[start : start + 7]
