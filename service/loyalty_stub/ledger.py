"""The stub's memory: grants received once each by grant id, in the order they took effect."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from service.gen.loyalty.v1 import loyalty_pb2 as pb
from service.protobuf_time import timestamp

MAX_GRANT_ID_LENGTH = 512
_NEEDS_ITEM_CODE = (pb.GRANT_KIND_COUPON, pb.GRANT_KIND_ITEM)


def _nanos(value: dt.datetime) -> int:
    return timestamp(value).ToNanoseconds()


@dataclass(frozen=True, slots=True)
class Received:
    grant: pb.Grant
    received_at: dt.datetime

    def sort_key(self) -> tuple[int, str]:
        return self.grant.occurred_at.ToNanoseconds(), self.grant.grant_id


@dataclass
class StubStats:
    calls: int = 0
    failed_calls: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    calls_in_progress: int = 0


def rejection(grant: pb.Grant) -> str:
    """Why the stub would never apply `grant`, or "" when it is well-formed."""
    if not grant.grant_id or len(grant.grant_id) > MAX_GRANT_ID_LENGTH:
        return f"grant_id must be 1 to {MAX_GRANT_ID_LENGTH} characters"
    if not grant.user_id:
        return "user_id is required"
    if grant.kind not in pb.GrantKind.values() or grant.kind == pb.GRANT_KIND_UNSPECIFIED:
        return "kind must be points, coupon, item or xp"
    if grant.amount <= 0:
        return "amount must be positive"
    if (grant.kind in _NEEDS_ITEM_CODE) != bool(grant.item_code):
        return "item_code is required for coupons and items, and only for them"
    return ""


@dataclass
class GrantLedger:
    """Received grants by id; `effects` lists each applied grant id once, in applying order."""

    grants: dict[str, Received] = field(default_factory=dict)
    effects: list[str] = field(default_factory=list)
    stats: StubStats = field(default_factory=StubStats)

    def record(self, grant: pb.Grant, now: dt.datetime) -> pb.GrantResult:
        reason = rejection(grant)
        if reason:
            self.stats.rejected += 1
            return pb.GrantResult(
                grant_id=grant.grant_id, outcome=pb.RECORD_OUTCOME_REJECTED, reason=reason
            )
        if grant.grant_id in self.grants:
            self.stats.duplicates += 1
            return pb.GrantResult(grant_id=grant.grant_id, outcome=pb.RECORD_OUTCOME_DUPLICATE)
        self.grants[grant.grant_id] = Received(grant, now)
        self.effects.append(grant.grant_id)
        self.stats.accepted += 1
        return pb.GrantResult(grant_id=grant.grant_id, outcome=pb.RECORD_OUTCOME_ACCEPTED)

    def order_by_user(self) -> dict[str, list[str]]:
        """Each user's applied grant ids in applying order."""
        users: dict[str, list[str]] = {}
        for grant_id in self.effects:
            users.setdefault(self.grants[grant_id].grant.user_id, []).append(grant_id)
        return users

    def between(self, start: dt.datetime | None, end: dt.datetime | None) -> list[Received]:
        """Grants whose occurred_at lies in [start, end), ordered by (occurred_at, grant_id)."""
        low = _nanos(start) if start else -(2**63)
        high = _nanos(end) if end else 2**63
        found = [r for r in self.grants.values() if low <= r.sort_key()[0] < high]
        return sorted(found, key=Received.sort_key)

    def reset(self) -> None:
        self.grants.clear()
        self.effects.clear()
        in_progress = self.stats.calls_in_progress
        self.stats = StubStats(calls_in_progress=in_progress)
