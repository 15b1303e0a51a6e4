"""Ports of grant delivery: the loyalty sink, the relay's queue and the operators' grant store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.app.audit import Actor, Change
from service.domain.check_in import CheckInProgram, DayRecord
from service.domain.grant_delivery import (
    DeliveryResult,
    GrantStatus,
    OutboxGrant,
    OutboxStats,
    Settlement,
)


class LoyaltyUnavailable(ConnectionError):
    """The loyalty system could not be reached, or failed or timed out a call; retry later.

    A ConnectionError so that the API's one error mapping answers UNAVAILABLE.
    """


class LoyaltyCannotList(Exception):
    """The loyalty system offers no listing of received grants."""


class LoyaltySink(Protocol):
    """The core loyalty system as the relay sees it (gRPC or a Redis stream)."""

    async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
        """Deliver `grants` in order within the sink's deadline; one result per grant.

        Raise LoyaltyUnavailable when the call as a whole failed: the sink may then have
        applied some, all or none of the grants.
        """
        ...

    async def received_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        """Ids of received grants that occurred in [start, end); at most `limit` + 1 of them.

        Raise LoyaltyCannotList when the sink cannot list.
        """
        ...

    async def close(self) -> None: ...


class OutboxQueue(Protocol):
    """The grant outbox as relays work it: claim under a lease, then settle."""

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[OutboxGrant]:
        """Lease up to `limit` deliverable grants to `owner`, counting an attempt for each.

        For every user the claimed grants are the oldest pending ones, in id order, and none
        is claimed while an older pending grant of the user is leased or waiting to retry.
        """
        ...

    async def settle(self, owner: str, settlement: Settlement) -> None:
        """Record the outcome of one delivery attempt in one transaction."""
        ...


@dataclass(frozen=True, slots=True)
class GrantFilter:
    """Filters of the grant list; empty values match everything."""

    user_id: str = ""
    status: GrantStatus | None = None
    cause_ref: str = ""
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class DeadSelection:
    """Which dead grants to retry: by id, all of one user, or all."""

    grant_ids: tuple[str, ...] = ()
    user_id: str = ""
    everything: bool = False


@dataclass(frozen=True, slots=True)
class CheckInCause:
    """The check-in that earned a grant and the program version it followed."""

    record: DayRecord | None
    program: CheckInProgram | None


@dataclass(frozen=True, slots=True)
class GrantDetail:
    grant: OutboxGrant
    check_in: CheckInCause | None


class GrantStore(Protocol):
    """Read and repair access to the outbox for operators; each call is one transaction."""

    async def list(
        self, where: GrantFilter, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        """Matching grants with id below `before_id`, newest first."""
        ...

    async def get(self, grant_id: str) -> GrantDetail | None:
        """The grant with its id, and for a check-in cause the check-in and program version."""
        ...

    async def retry_dead(
        self,
        selection: DeadSelection,
        at: dt.datetime,
        actor: Actor,
        change: Callable[[int], Change],
    ) -> int:
        """Move selected dead grants back to pending with a fresh budget; return how many.

        The audit entry `change(moved)` is written in the same transaction.
        """
        ...

    async def audit(self, at: dt.datetime, actor: Actor, change: Change) -> None:
        """Write an audit entry on its own."""
        ...

    async def delivered_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        """Ids of grants created in [start, end) and marked delivered; at most `limit` + 1."""
        ...

    async def stats(self) -> OutboxStats: ...
