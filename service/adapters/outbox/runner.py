"""Starting and stopping a relay: inside the server process, or alone as `engagement relay`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from service.adapters.outbox.backoff import BackoffPolicy
from service.adapters.outbox.queue import PostgresOutboxQueue
from service.adapters.outbox.relay import Relay, RelayPolicy
from service.bootstrap import App
from service.settings import Settings

log = logging.getLogger(__name__)


def relay_policy(settings: Settings) -> RelayPolicy:
    return RelayPolicy(
        batch_size=settings.relay_batch_size,
        lease_seconds=settings.relay_lease_seconds,
        max_attempts=settings.relay_max_attempts,
        poll_interval_seconds=settings.relay_poll_interval_seconds,
        concurrency=settings.relay_concurrency,
        backoff=BackoffPolicy(
            settings.relay_backoff_initial_seconds, settings.relay_backoff_max_seconds
        ),
    )


def build_relay(app: App) -> Relay | None:
    """A relay from the app's outbox to its loyalty sink; None when no sink is configured."""
    if app.loyalty is None:
        return None
    return Relay(PostgresOutboxQueue(app.engine), app.loyalty, relay_policy(app.settings))


@dataclass
class RunningRelay:
    """A relay working in the background of the current event loop."""

    relay: Relay
    stopping: asyncio.Event
    task: asyncio.Task[None]

    async def stop(self, grace: float) -> None:
        """Let the batches in flight finish within `grace`; abandoned ones are re-delivered
        after their lease."""
        self.stopping.set()
        done, _ = await asyncio.wait({self.task}, timeout=grace)
        if not done:
            name = self.relay.name
            log.warning("relay %s did not finish within %ss; leases will expire", name, grace)
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        log.info("relay %s stopped: %s", self.relay.name, self.relay.counters)


def start_relay(app: App) -> RunningRelay | None:
    """Start delivering in the background; None (and a warning) without a loyalty sink."""
    relay = build_relay(app)
    if relay is None:
        log.warning("no loyalty system configured (ENGAGEMENT_LOYALTY_SINK): grants stay pending")
        return None
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping), name="grant-relay")
    log.info("relay %s delivering grants to %s", relay.name, app.settings.loyalty_sink)
    return RunningRelay(relay, stopping, task)
