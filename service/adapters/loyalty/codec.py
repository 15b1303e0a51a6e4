"""Grants in the loyalty.v1 contract's shapes: protobuf messages and Redis stream fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from service.domain.grant_delivery import DeliveryOutcome, DeliveryResult, OutboxGrant
from service.domain.rewards import RewardKind
from service.gen.loyalty.v1 import loyalty_pb2 as pb
from service.protobuf_time import timestamp

KINDS = {
    RewardKind.POINTS: pb.GRANT_KIND_POINTS,
    RewardKind.COUPON: pb.GRANT_KIND_COUPON,
    RewardKind.ITEM: pb.GRANT_KIND_ITEM,
    RewardKind.XP: pb.GRANT_KIND_XP,
}
_OUTCOMES = {
    pb.RECORD_OUTCOME_ACCEPTED: DeliveryOutcome.ACCEPTED,
    pb.RECORD_OUTCOME_DUPLICATE: DeliveryOutcome.DUPLICATE,
    pb.RECORD_OUTCOME_REJECTED: DeliveryOutcome.REJECTED,
}
OUTCOMES_TO_PB = {value: key for key, value in _OUTCOMES.items()}


def grant_to_pb(item: OutboxGrant) -> pb.Grant:
    grant = item.grant
    return pb.Grant(
        grant_id=grant.idempotency_key,
        user_id=grant.user_id,
        kind=KINDS[grant.reward.kind],
        amount=grant.reward.amount,
        item_code=grant.reward.item_code,
        reason=grant.reason,
        cause_ref=grant.cause_ref,
        occurred_at=timestamp(item.created_at),
        expires_at=timestamp(grant.expires_at) if grant.expires_at else None,
    )


def result_from_pb(message: pb.GrantResult) -> DeliveryResult | None:
    """The domain result, or None for an outcome this code does not know (never trusted)."""
    outcome = _OUTCOMES.get(message.outcome)
    return DeliveryResult(message.grant_id, outcome, message.reason) if outcome else None


def stream_fields(item: OutboxGrant) -> dict[str, str]:
    """The same fields as loyalty.v1.Grant, as strings; kinds are lower case names, and an
    empty expires_at means never."""
    grant = item.grant
    return {
        "grant_id": grant.idempotency_key,
        "user_id": grant.user_id,
        "kind": str(grant.reward.kind),
        "amount": str(grant.reward.amount),
        "item_code": grant.reward.item_code,
        "reason": grant.reason,
        "cause_ref": grant.cause_ref,
        "occurred_at": item.created_at.astimezone(dt.UTC).isoformat(),
        "expires_at": grant.expires_at.astimezone(dt.UTC).isoformat() if grant.expires_at else "",
    }


def occurred_at_of(fields: Mapping[bytes, bytes]) -> dt.datetime | None:
    raw = fields.get(b"occurred_at")
    try:
        return dt.datetime.fromisoformat(raw.decode()) if raw else None
    except ValueError:
        return None
