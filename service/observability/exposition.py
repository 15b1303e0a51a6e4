"""Serving the metrics over HTTP, and the outbox gauges that a periodic query keeps fresh."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from service.app.grants.ports import GrantStore
from service.observability.metrics import Metrics
from service.settings import ENV_PREFIX, SettingsError
from service.waiting import pause

log = logging.getLogger(__name__)


@dataclass
class Exposition:
    """The HTTP endpoint (`/metrics`) and the loop refreshing the outbox gauges."""

    server: WSGIServer
    thread: threading.Thread
    port: int
    stopping: asyncio.Event
    refresher: asyncio.Task[None]

    async def stop(self) -> None:
        self.stopping.set()
        await self.refresher
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


async def refresh_outbox(metrics: Metrics, store: GrantStore) -> None:
    """Set the grant gauges from one query of the whole outbox."""
    stats = await store.stats()
    for state, count in (
        ("pending", stats.pending), ("in_flight", stats.in_flight),
        ("delivered", stats.delivered), ("dead", stats.dead),
    ):  # fmt: skip
        metrics.grants.labels(state).set(count)
    metrics.oldest_pending.set(stats.oldest_pending_age_seconds)


async def _follow_outbox(
    metrics: Metrics, store: Callable[[], GrantStore], seconds: float, stopping: asyncio.Event
) -> None:
    while not stopping.is_set():
        try:
            await refresh_outbox(metrics, store())
        except Exception as exc:  # noqa: BLE001 - an outage must not end the loop
            log.warning("refreshing the outbox metrics failed: %r", exc)
        await pause(stopping, seconds)


def start_exposition(
    address: str, metrics: Metrics, store: Callable[[], GrantStore], refresh_seconds: float
) -> Exposition:
    """Serve `/metrics` on `address` (port 0 picks a free one) from a thread of its own."""
    host, port = _host_port(address)
    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        raise SettingsError(
            f"{ENV_PREFIX}METRICS_ADDRESS: cannot listen on {address}: {exc.strerror or exc}"
        ) from exc
    stopping = asyncio.Event()
    refresher = asyncio.create_task(_follow_outbox(metrics, store, refresh_seconds, stopping))
    return Exposition(server, thread, server.server_port, stopping, refresher)
