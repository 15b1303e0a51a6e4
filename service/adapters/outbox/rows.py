"""Conversions between grant outbox rows and domain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from service.adapters.postgres.tables import grant_outbox
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import Grant, Reward, RewardKind

_t = grant_outbox.c
IN_FLIGHT = sa.and_(_t.lease_owner.is_not(None), _t.available_at > sa.func.now())
# Every column the domain value needs, plus whether a relay holds the grant right now.
COLUMNS = (
    _t.id, _t.idempotency_key, _t.user_id, _t.kind, _t.amount, _t.item_code, _t.reason,
    _t.cause_kind, _t.cause_ref, _t.definition_version, _t.status, _t.attempts, _t.last_error,
    _t.created_at, _t.delivered_at, _t.available_at, _t.valid_days, _t.expires_at,
    IN_FLIGHT.label("in_flight"),
)  # fmt: skip


def grant_from_row(row: Mapping[Any, Any]) -> OutboxGrant:
    """A domain value from a row selected with COLUMNS (or the same names in raw SQL)."""
    status = GrantStatus(row["status"])
    in_flight = bool(row["in_flight"])
    grant = Grant(
        idempotency_key=row["idempotency_key"],
        user_id=row["user_id"],
        reward=Reward(
            RewardKind(row["kind"]), int(row["amount"]), row["item_code"], int(row["valid_days"])
        ),
        reason=row["reason"],
        cause_kind=row["cause_kind"],
        cause_ref=row["cause_ref"],
        definition_version=int(row["definition_version"]),
        expires_at=row["expires_at"],
    )
    waiting = status is GrantStatus.PENDING and not in_flight
    return OutboxGrant(
        id=int(row["id"]),
        grant=grant,
        status=status,
        attempts=int(row["attempts"]),
        created_at=row["created_at"],
        last_error=row["last_error"] or "",
        delivered_at=row["delivered_at"],
        next_attempt_at=row["available_at"] if waiting else None,
        in_flight=in_flight,
    )
