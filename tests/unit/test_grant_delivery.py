"""The pure parts of grant delivery: settlements, reconciliation, causes, backoff, page tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from service.adapters.outbox.backoff import BackoffPolicy
from service.domain.grant_delivery import (
    DeliveryOutcome,
    DeliveryResult,
    GrantStatus,
    OutboxGrant,
    Retry,
    check_in_cause_day,
    reconcile,
    settle_failure,
    settle_results,
)
from service.domain.rewards import Grant, Reward, RewardKind

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def _item(id_: int, attempts: int = 1, user: str = "u1") -> OutboxGrant:
    grant = Grant(f"key-{id_}", user, Reward(RewardKind.POINTS, 5), "r", "test", "c", 1)
    return OutboxGrant(id_, grant, GrantStatus.PENDING, attempts, AT, in_flight=True)


def _backoff(attempts: int) -> float:
    return attempts * 10.0


def test_a_failed_call_retries_each_grant_with_its_own_backoff() -> None:
    batch = [_item(1, attempts=1), _item(2, attempts=3)]

    settlement = settle_failure(batch, "UNAVAILABLE", max_attempts=5, backoff=_backoff)

    assert settlement.retry == (Retry(1, 10.0, "UNAVAILABLE"), Retry(2, 30.0, "UNAVAILABLE"))
    assert settlement.delivered == ()
    assert settlement.dead == ()


def test_a_grant_out_of_attempts_is_dead_lettered_with_the_last_error() -> None:
    batch = [_item(1, attempts=4), _item(2, attempts=5)]

    settlement = settle_failure(batch, "DEADLINE_EXCEEDED", max_attempts=5, backoff=_backoff)

    assert settlement.retry == (Retry(1, 40.0, "DEADLINE_EXCEEDED"),)
    assert settlement.dead == ((2, "DEADLINE_EXCEEDED"),)


def test_accepted_and_duplicate_are_delivered_rejected_is_dead_unanswered_retries() -> None:
    batch = [_item(1), _item(2), _item(3), _item(4)]
    results = [
        DeliveryResult("key-1", DeliveryOutcome.ACCEPTED),
        DeliveryResult("key-2", DeliveryOutcome.DUPLICATE),
        DeliveryResult("key-3", DeliveryOutcome.REJECTED, "unknown user"),
    ]

    settlement = settle_results(batch, results, max_attempts=5, backoff=_backoff)

    assert settlement.delivered == (1, 2)
    assert settlement.dead == ((3, "rejected by the loyalty system: unknown user"),)
    assert settlement.retry == (Retry(4, 10.0, "no answer for the grant"),)


def test_stored_errors_are_clipped() -> None:
    settlement = settle_failure([_item(1)], "x" * 10_000, max_attempts=5, backoff=_backoff)

    assert len(settlement.retry[0].error) == 2000


def test_reconcile_reports_both_directions_sorted() -> None:
    result = reconcile(delivered={"a", "b", "d"}, received={"b", "c", "d", "e"})

    assert (result.delivered, result.received, result.matched) == (3, 4, 2)
    assert result.missing_at_sink == ("a",)
    assert result.unconfirmed == ("c", "e")


@pytest.mark.parametrize(
    ("kind", "ref", "day"),
    [
        ("check_in", "check_in:alice:2026-11-22", dt.date(2026, 11, 22)),
        ("check_in_milestone", "check_in:alice:2026-11-01", dt.date(2026, 11, 1)),
        ("check_in", "check_in:bob:2026-11-22", None),
        ("check_in", "check_in:alice:yesterday", None),
        ("board_final", "check_in:alice:2026-11-22", None),
    ],
)
def test_check_in_cause_day(kind: str, ref: str, day: dt.date | None) -> None:
    grant = Grant("k", "alice", Reward(RewardKind.POINTS, 1), "r", kind, ref, 3)

    assert check_in_cause_day(grant) == day


def test_user_ids_with_colons_still_name_their_check_in_day() -> None:
    grant = Grant("k", "org:7:alice", Reward(RewardKind.XP, 1), "r", "check_in",
                  "check_in:org:7:alice:2026-01-31", 3)  # fmt: skip

    assert check_in_cause_day(grant) == dt.date(2026, 1, 31)


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap() -> None:
    policy = BackoffPolicy(initial_seconds=1.0, max_seconds=30.0)

    for attempts, base in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)):
        delays = [policy.delay(attempts) for _ in range(50)]
        assert all(base <= d <= base + 1.0 for d in delays), (attempts, delays)
        assert len(set(delays)) > 1, "no jitter"
    assert policy.delay(20) == 30.0


async def test_backoff_call_retries_listed_errors_then_gives_up_with_the_last_one() -> None:
    policy = BackoffPolicy(initial_seconds=0.001, max_seconds=0.002)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionResetError("blip")
        return "done"

    async def broken() -> str:
        raise ConnectionResetError("down")

    assert await policy.call(flaky, retry_on=(OSError,), within_seconds=5) == "done"
    assert calls == 3
    with pytest.raises(ConnectionResetError, match="down"):
        await policy.call(broken, retry_on=(OSError,), within_seconds=0.05)


async def test_backoff_call_does_not_retry_other_errors() -> None:
    calls = 0

    async def buggy() -> str:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await BackoffPolicy(0.001, 0.002).call(buggy, retry_on=(OSError,), within_seconds=5)
    assert calls == 1
