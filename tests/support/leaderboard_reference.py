"""A deliberately naive model of leaderboard standings: the oracle of the leaderboard tests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from leaderboard import Aggregation, LoadEntry, SortOrder, TiePolicy


@dataclass(frozen=True, slots=True)
class Submission:
    member_id: str
    value: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class Held:
    """A member's score and when it reached it."""

    score: int
    reached_at_ms: int


@dataclass(frozen=True, slots=True)
class Standing:
    member_id: str
    score: int
    rank: int


def apply(state: dict[str, Held], submission: Submission, aggregation: Aggregation) -> Held:
    """Fold one submission into `state` by the aggregation rules; return the result."""
    current = state.get(submission.member_id)
    if current is None:
        held = Held(submission.value, submission.at_ms)
    else:
        combined = {
            Aggregation.SUM: current.score + submission.value,
            Aggregation.MAX: max(current.score, submission.value),
            Aggregation.MIN: min(current.score, submission.value),
            Aggregation.LAST: submission.value,
        }[aggregation]
        unchanged = combined == current.score
        held = current if unchanged else Held(combined, submission.at_ms)
    state[submission.member_id] = held
    return held


def fold(submissions: Iterable[Submission], aggregation: Aggregation) -> dict[str, Held]:
    state: dict[str, Held] = {}
    for submission in submissions:
        apply(state, submission, aggregation)
    return state


def is_better(a: int, b: int, order: SortOrder) -> bool:
    return a > b if order is SortOrder.HIGHER_IS_BETTER else a < b


def rank(state: Mapping[str, Held], member_id: str, order: SortOrder, policy: TiePolicy) -> int:
    """Rank by counting, independently of any slicing: the definitions in their plainest form."""
    mine = state[member_id]
    better = [held for held in state.values() if is_better(held.score, mine.score, order)]
    if policy is TiePolicy.COMPETITION:
        return 1 + len(better)
    if policy is TiePolicy.DENSE:
        return 1 + len({held.score for held in better})
    earlier_ties = [
        other
        for other, held in state.items()
        if held.score == mine.score
        and (held.reached_at_ms, other.encode()) < (mine.reached_at_ms, member_id.encode())
    ]
    return 1 + len(better) + len(earlier_ties)


def ahead(state: Mapping[str, Held], member_id: str, order: SortOrder, policy: TiePolicy) -> int:
    """Members ranked ahead of `member_id`, for the percentile."""
    if policy is TiePolicy.FIRST_TO_REACH:
        return rank(state, member_id, order, policy) - 1
    mine = state[member_id].score
    return sum(1 for held in state.values() if is_better(held.score, mine, order))


def standings(state: Mapping[str, Held], order: SortOrder, policy: TiePolicy) -> list[Standing]:
    """Every member in board order; order inside a tie group is by reached time, then id bytes."""
    sign = -1 if order is SortOrder.HIGHER_IS_BETTER else 1
    members = sorted(
        state,
        key=lambda m: (sign * state[m].score, state[m].reached_at_ms, m.encode()),
    )
    return [Standing(m, state[m].score, rank(state, m, order, policy)) for m in members]


def ledger_rows(state: Mapping[str, Held]) -> list[LoadEntry]:
    return [LoadEntry(m, held.score, held.reached_at_ms) for m, held in state.items()]


def random_submissions(seed: int, members: int, count: int) -> list[Submission]:
    """Few distinct values and clashing milliseconds, so that every kind of tie occurs."""
    rng = random.Random(seed)
    names = [f"player-{n:03d}" for n in range(members)]
    return [
        Submission(rng.choice(names), rng.randint(-3, 6), 1_763_856_000_000 + rng.randint(0, 40))
        for _ in range(count)
    ]
