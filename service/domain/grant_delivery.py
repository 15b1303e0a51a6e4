"""Delivery of outbox grants: their state, what a delivery outcome changes, reconciliation."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from service.domain.rewards import Grant

# Errors are stored for operators; a sink's error text can be arbitrarily long.
MAX_ERROR_LENGTH = 2000


class GrantStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    # Never delivered: the user's data was deleted before it was.
    CANCELLED = "cancelled"


class DeliveryOutcome(enum.StrEnum):
    """How the loyalty system answered one grant."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OutboxGrant:
    """A grant as the outbox holds it, with its delivery state."""

    id: int
    grant: Grant
    status: GrantStatus
    attempts: int
    created_at: dt.datetime
    last_error: str = ""
    delivered_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None
    in_flight: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    grant_id: str
    outcome: DeliveryOutcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Retry:
    id: int
    delay_seconds: float
    error: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one delivery attempt of a claimed batch changes in the outbox."""

    delivered: tuple[int, ...] = ()
    retry: tuple[Retry, ...] = ()
    dead: tuple[tuple[int, str], ...] = ()


Backoff = Callable[[int], float]
"""Seconds to wait before the next attempt, given the attempts made so far."""


def _clip(error: str) -> str:
    return error[:MAX_ERROR_LENGTH]


def settle_failure(
    batch: Sequence[OutboxGrant], error: str, *, max_attempts: int, backoff: Backoff
) -> Settlement:
    """The whole call failed: retry each grant later, or dead-letter it when out of attempts."""
    error = _clip(error)
    retry = tuple(
        Retry(g.id, backoff(g.attempts), error) for g in batch if g.attempts < max_attempts
    )
    dead = tuple((g.id, error) for g in batch if g.attempts >= max_attempts)
    return Settlement(retry=retry, dead=dead)


def settle_results(
    batch: Sequence[OutboxGrant],
    results: Iterable[DeliveryResult],
    *,
    max_attempts: int,
    backoff: Backoff,
) -> Settlement:
    """Per-grant answers: acknowledged grants are delivered, rejected ones dead.

    A grant the sink did not answer is retried like a failed call.
    """
    answers = {r.grant_id: r for r in results}
    delivered: list[int] = []
    dead: list[tuple[int, str]] = []
    unanswered: list[OutboxGrant] = []
    for item in batch:
        answer = answers.get(item.grant.idempotency_key)
        if answer is None:
            unanswered.append(item)
        elif answer.outcome is DeliveryOutcome.REJECTED:
            dead.append((item.id, _clip(f"rejected by the loyalty system: {answer.reason}")))
        else:
            delivered.append(item.id)
    missing = settle_failure(
        unanswered, "no answer for the grant", max_attempts=max_attempts, backoff=backoff
    )
    return Settlement(tuple(delivered), missing.retry, (*dead, *missing.dead))


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Our delivered grants against those the loyalty system reports, for one time range."""

    delivered: int
    received: int
    matched: int
    missing_at_sink: tuple[str, ...]
    unconfirmed: tuple[str, ...]


def reconcile(delivered: Collection[str], received: Collection[str]) -> Reconciliation:
    """Compare grant ids; both id lists are sorted in the result."""
    ours, theirs = set(delivered), set(received)
    return Reconciliation(
        delivered=len(ours),
        received=len(theirs),
        matched=len(ours & theirs),
        missing_at_sink=tuple(sorted(ours - theirs)),
        unconfirmed=tuple(sorted(theirs - ours)),
    )


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Counters of the whole outbox, across every relay."""

    pending: int
    in_flight: int
    delivered: int
    dead: int
    oldest_pending_age_seconds: float


CHECK_IN_CAUSE_KINDS = frozenset({"check_in", "check_in_milestone"})


def check_in_cause_day(grant: Grant) -> dt.date | None:
    """The local day of the check-in that caused `grant`, or None for other causes.

    Check-in causes are referenced as "check_in:<user_id>:<YYYY-MM-DD>".
    """
    prefix = f"check_in:{grant.user_id}:"
    if grant.cause_kind not in CHECK_IN_CAUSE_KINDS or not grant.cause_ref.startswith(prefix):
        return None
    try:
        return dt.date.fromisoformat(grant.cause_ref.removeprefix(prefix))
    except ValueError:
        return None
