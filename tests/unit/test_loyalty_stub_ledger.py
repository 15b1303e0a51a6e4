"""The loyalty stub's ledger: deduplication by grant id, rejections, listing by time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.gen.loyalty.v1 import loyalty_pb2 as pb
from service.loyalty_stub.faults import Faults
from service.loyalty_stub.ledger import GrantLedger

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def _grant(
    grant_id: str,
    user: str = "u1",
    minute: int = 0,
    kind: pb.GrantKind.ValueType = pb.GRANT_KIND_POINTS,
    amount: int = 5,
    item_code: str = "",
) -> pb.Grant:
    stamp = Timestamp()
    stamp.FromDatetime(AT + dt.timedelta(minutes=minute))
    return pb.Grant(
        grant_id=grant_id, user_id=user, occurred_at=stamp, kind=kind, amount=amount,
        item_code=item_code,
    )  # fmt: skip


def test_a_grant_takes_effect_once_and_later_deliveries_are_duplicates() -> None:
    ledger = GrantLedger()

    first = ledger.record(_grant("g1"), AT)
    again = ledger.record(_grant("g1"), AT)

    assert first.outcome == pb.RECORD_OUTCOME_ACCEPTED
    assert again.outcome == pb.RECORD_OUTCOME_DUPLICATE
    assert ledger.effects == ["g1"]
    assert (ledger.stats.accepted, ledger.stats.duplicates) == (1, 1)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": pb.GRANT_KIND_UNSPECIFIED}, "kind"),
        ({"amount": 0}, "amount"),
        ({"kind": pb.GRANT_KIND_COUPON}, "item_code"),
        ({"item_code": "chest"}, "item_code"),
    ],
)
def test_malformed_grants_are_rejected_without_effect(fields: dict[str, Any], reason: str) -> None:
    ledger = GrantLedger()

    result = ledger.record(_grant("g1", **fields), AT)

    assert result.outcome == pb.RECORD_OUTCOME_REJECTED
    assert reason in result.reason
    assert ledger.effects == []


def test_effects_per_user_keep_their_applying_order() -> None:
    ledger = GrantLedger()
    for grant_id, user in (("a2", "u1"), ("b1", "u2"), ("a1", "u1")):
        ledger.record(_grant(grant_id, user), AT)

    assert ledger.order_by_user() == {"u1": ["a2", "a1"], "u2": ["b1"]}


def test_between_is_half_open_and_ordered_by_occurrence() -> None:
    ledger = GrantLedger()
    for minute in (3, 0, 1, 2):
        ledger.record(_grant(f"g{minute}", minute=minute), AT)

    found = ledger.between(AT, AT + dt.timedelta(minutes=2))

    assert [r.grant.grant_id for r in found] == ["g0", "g1"]


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        Faults(failure_rate=1.5)
    with pytest.raises(ValueError, match="delay_seconds"):
        Faults(delay_seconds=-1)
