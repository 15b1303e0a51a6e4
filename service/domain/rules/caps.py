"""Caps: velocity limits per user, per-user period limits and shared campaign budgets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.domain.rewards import Grant
from service.domain.rules.modifiers import CapDefinition, CapKind
from service.domain.rules.state import Counter
from service.domain.rules.windows import earlier, window_at


@dataclass(frozen=True, slots=True)
class CappedGrant:
    """A grant and the task that caused it ("" for badges and levels)."""

    grant: Grant
    task_id: str = ""


@dataclass(frozen=True, slots=True)
class CapUse:
    """What the grants of one event take from the caps, or why they break one."""

    rejected: str = ""
    counters: tuple[Counter, ...] = ()
    budgets: Mapping[str, int] = field(default_factory=dict)


def velocity_breach(
    caps: Sequence[CapDefinition], event_type: str, recent: Mapping[str, int]
) -> str:
    """The rejection reason when this event would exceed a per-minute limit, else ""."""
    for cap in caps:
        matches = cap.kind is CapKind.VELOCITY and cap.event_type == event_type
        if matches and recent.get(event_type, 0) + 1 > cap.limit:
            return f"velocity:{cap.cap_id}: more than {cap.limit} {event_type} per minute"
    return ""


def _amount(cap: CapDefinition, grants: Sequence[CappedGrant]) -> int:
    return sum(
        g.grant.reward.amount
        for g in grants
        if g.grant.reward.kind == cap.reward_kind
        and (not cap.task_ids or g.task_id in cap.task_ids)
    )


def cap_key(cap: CapDefinition) -> str:
    return f"cap:{cap.cap_id}"


def use_caps(
    caps: Sequence[CapDefinition],
    grants: Sequence[CappedGrant],
    counters: Mapping[str, Counter],
    budget_left: Mapping[str, int],
    at: dt.datetime,
    timezone: str,
) -> CapUse:
    """Count the grants against every cap; a budget not in `budget_left` is assumed open."""
    used: list[Counter] = []
    budgets: dict[str, int] = {}
    for cap in caps:
        amount = _amount(cap, grants) if cap.kind is not CapKind.VELOCITY else 0
        if not amount:
            continue
        if cap.kind is CapKind.BUDGET:
            left = budget_left.get(cap.cap_id)
            if left is not None and amount > left:
                return CapUse(f"budget:{cap.cap_id}: campaign budget of {cap.limit} exhausted")
            budgets[cap.cap_id] = amount
            continue
        window = window_at(cap.period, at, timezone).window_id
        counter = counters.get(cap_key(cap))
        if counter and earlier(window, counter.window_id):
            # A late event counts against the newest window's allowance: the earlier
            # window's total is no longer kept.
            window = counter.window_id
        spent = counter.amount if counter and counter.window_id == window else 0
        if spent + amount > cap.limit:
            return CapUse(
                f"cap:{cap.cap_id}: {spent} + {amount} {cap.reward_kind} exceeds "
                f"the {cap.period} limit of {cap.limit}"
            )
        used.append(Counter(cap_key(cap), window, spent + amount))
    return CapUse("", tuple(used), budgets)
