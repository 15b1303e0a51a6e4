"""Rollout buckets: stable per user and definition, proportional, independent per task."""

from __future__ import annotations

import pytest

from service.domain.rules.audience import in_rollout, rollout_bucket

USERS = [f"user-{n}" for n in range(10_000)]


def test_the_rollout_bucket_is_stable_and_in_range() -> None:
    buckets = [rollout_bucket("spring-sale", user) for user in USERS[:500]]
    assert buckets == [rollout_bucket("spring-sale", user) for user in USERS[:500]]
    assert set(buckets) <= set(range(100))
    assert len(set(buckets)) > 90


@pytest.mark.parametrize("percent", [5, 10, 50])
def test_a_rollout_reaches_its_share_of_users(percent: int) -> None:
    reached = sum(in_rollout("spring-sale", user, percent) for user in USERS)
    assert abs(reached / len(USERS) - percent / 100) <= 0.02


def test_no_one_at_0_percent_and_everyone_at_100() -> None:
    assert not any(in_rollout("spring-sale", user, 0) for user in USERS)
    assert all(in_rollout("spring-sale", user, 100) for user in USERS)


def test_different_tasks_roll_out_to_different_users() -> None:
    first = {user for user in USERS if in_rollout("spring-sale", user, 10)}
    second = {user for user in USERS if in_rollout("summer-sale", user, 10)}
    # Independent 10% picks share about 1% of the users; the same pick would share 10%.
    assert len(first & second) < 250
    # A wider rollout of one task keeps everyone its narrower rollout had.
    assert first <= {user for user in USERS if in_rollout("spring-sale", user, 50)}
