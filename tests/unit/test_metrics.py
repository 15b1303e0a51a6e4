"""What the metrics record, without a server."""

from __future__ import annotations

import asyncpg
import pytest
import redis.exceptions

from service.entrypoints.grpc_api.errors import store_of
from service.observability.metrics import Metrics


@pytest.mark.parametrize(
    ("rejection", "reason"),
    [
        ("", ""),
        ("value: 10 is beyond the maximum event value of 5", "value"),
        ("velocity:fast: more than 3 order.paid per minute", "velocity"),
        ("cap:daily-points", "cap"),
        ("budget:launch: campaign budget of 100 exhausted", "budget"),
        ("something new", "other"),
    ],
)
def test_a_rejection_is_counted_by_its_kind_not_its_text(rejection: str, reason: str) -> None:
    metrics = Metrics()

    metrics.event("rejected" if rejection else "applied", rejection)

    outcome = "rejected" if rejection else "applied"
    labels = {"outcome": outcome, "reason": reason}
    assert metrics.registry.get_sample_value("engagement_events_total", labels) == 1


def test_calls_of_one_method_and_code_share_their_series() -> None:
    metrics = Metrics()

    for seconds in (0.001, 0.002, 0.2):
        metrics.call("CheckInService/CheckIn", "OK", seconds)
    metrics.call("CheckInService/CheckIn", "UNAVAILABLE", 5.0)

    get = metrics.registry.get_sample_value
    ok = {"method": "CheckInService/CheckIn", "code": "OK"}
    assert get("engagement_rpc_calls_total", ok) == 3
    assert get("engagement_rpc_duration_seconds_bucket", ok | {"le": "0.0025"}) == 2
    assert get("engagement_rpc_duration_seconds_sum", ok) == pytest.approx(0.203)


def test_an_unreachable_store_is_named() -> None:
    assert store_of(redis.exceptions.ConnectionError("down")) == "redis"
    assert store_of(OSError("refused")) == "postgres"
    wrapped = RuntimeError("adapter")
    wrapped.__cause__ = redis.exceptions.TimeoutError()
    assert store_of(wrapped) == "redis"
    assert store_of(asyncpg.CannotConnectNowError()) == "postgres"
