"""The relay: claim a batch under a lease, deliver it to the loyalty sink, settle the outcome.

A grant is marked delivered only after the sink acknowledged it. A relay that dies between
the acknowledgement and the settlement leaves the grant leased; once the lease runs out a
relay delivers it again and the grant id makes that delivery a no-op at the sink.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field

import sqlalchemy.exc

from service.adapters.outbox.backoff import BackoffPolicy
from service.app.grants.ports import LoyaltySink, LoyaltyUnavailable, OutboxQueue
from service.domain.grant_delivery import (
    DeliveryOutcome,
    DeliveryResult,
    OutboxGrant,
    Settlement,
    settle_failure,
    settle_results,
)
from service.waiting import pause

log = logging.getLogger(__name__)

# Errors of the outbox's own store worth retrying in place: the sink already acknowledged.
_STORE_ERRORS = (
    OSError,
    TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
_MAX_IDLE_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    batch_size: int = 500
    lease_seconds: float = 30.0
    max_attempts: int = 20
    poll_interval_seconds: float = 0.1
    concurrency: int = 1
    backoff: BackoffPolicy = field(default_factory=lambda: BackoffPolicy(0.5, 300.0))


@dataclass
class RelayCounters:
    """What this relay did since it started."""

    batches: int = 0
    delivered: int = 0
    duplicates: int = 0
    retried: int = 0
    dead: int = 0
    failed_calls: int = 0

    def count(self, settlement: Settlement, results: list[DeliveryResult]) -> None:
        self.batches += 1
        self.delivered += len(settlement.delivered)
        self.duplicates += sum(r.outcome is DeliveryOutcome.DUPLICATE for r in results)
        self.retried += len(settlement.retry)
        self.dead += len(settlement.dead)


def relay_name() -> str:
    """A name unique to this process, recorded as the lease owner of the grants it holds."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Relay:
    """Moves grants from the outbox queue to the loyalty sink."""

    queue: OutboxQueue
    sink: LoyaltySink
    policy: RelayPolicy = field(default_factory=RelayPolicy)
    name: str = field(default_factory=relay_name)
    counters: RelayCounters = field(default_factory=RelayCounters)

    async def run_once(self, worker: int = 0) -> int:
        """Claim, deliver and settle one batch; return how many grants it claimed."""
        owner = f"{self.name}/{worker}"
        policy = self.policy
        batch = await self.queue.claim(owner, policy.batch_size, policy.lease_seconds)
        if not batch:
            return 0
        settlement, results = await self._deliver(batch)
        # A failure here leaves the grants leased; they are delivered again after the lease.
        await policy.backoff.call(
            lambda: self.queue.settle(owner, settlement),
            retry_on=_STORE_ERRORS,
            within_seconds=policy.lease_seconds / 2,
        )
        self.counters.count(settlement, results)
        return len(batch)

    async def _deliver(self, batch: list[OutboxGrant]) -> tuple[Settlement, list[DeliveryResult]]:
        policy = self.policy
        try:
            results = await self.sink.deliver(batch)
        except LoyaltyUnavailable as exc:
            log.info("delivery of %d grants failed: %s", len(batch), exc)
            return self._failed(batch, str(exc)), []
        # A bug on the way out must end in dead letters an operator can retry after the fix,
        # not in grants leased, unleased and claimed again for ever.
        except Exception as exc:
            log.exception("delivery of %d grants raised", len(batch))
            return self._failed(batch, f"internal error: {exc!r}"), []
        settlement = settle_results(
            batch, results, max_attempts=policy.max_attempts, backoff=policy.backoff.delay
        )
        return settlement, results

    def _failed(self, batch: list[OutboxGrant], error: str) -> Settlement:
        self.counters.failed_calls += 1
        policy = self.policy
        return settle_failure(
            batch, error, max_attempts=policy.max_attempts, backoff=policy.backoff.delay
        )

    async def run(self, stopping: asyncio.Event) -> None:
        """Work with `policy.concurrency` workers until `stopping` is set."""
        workers = range(self.policy.concurrency)
        await asyncio.gather(*(self._work(worker, stopping) for worker in workers))

    async def _work(self, worker: int, stopping: asyncio.Event) -> None:
        errors = 0
        while not stopping.is_set():
            # A store outage or a bug must not end the relay: leases make every retry safe.
            try:
                claimed = await self.run_once(worker)
            except Exception as exc:  # noqa: BLE001
                errors += 1
                log.warning("relay %s/%d failed (%d in a row): %r", self.name, worker, errors, exc)
                delay = min(self.policy.backoff.delay(errors), _MAX_IDLE_BACKOFF_SECONDS)
                await pause(stopping, delay)
                continue
            errors = 0
            if claimed < self.policy.batch_size:
                await pause(stopping, self.policy.poll_interval_seconds)
