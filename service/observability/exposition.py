"""Serving the metrics over HTTP, and the outbox gauges that a periodic query keeps fresh."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from service.app.grants.ports import GrantStore
from service.observability.metrics import Metrics
from service.settings import ENV_PREFIX, SettingsError
from service.waiting import pause

log = logging.getLogger(__name__)


@dataclass
class Endpoint:
    """`/metrics` over HTTP, from a thread of its own."""

    server: WSGIServer
    thread: threading.Thread
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class OutboxGauges:
    """The loop that keeps the grant gauges fresh."""

    stopping: asyncio.Event
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.stopping.set()
        await self.task


@dataclass
class Exposition:
    """The HTTP endpoint (`/metrics`) and the loop refreshing the outbox gauges."""

    endpoint: Endpoint
    gauges: OutboxGauges

    @property
    def port(self) -> int:
        return self.endpoint.port

    async def stop(self) -> None:
        await self.gauges.stop()
        self.endpoint.stop()


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


def follow_outbox(
    metrics: Metrics, store: Callable[[], GrantStore], refresh_seconds: float
) -> OutboxGauges:
    """Refresh the grant gauges every `refresh_seconds` until stopped."""
    stopping = asyncio.Event()
    task = asyncio.create_task(_follow_outbox(metrics, store, refresh_seconds, stopping))
    return OutboxGauges(stopping, task)


def serve_metrics(address: str, registry: CollectorRegistry) -> Endpoint:
    """Serve `registry` at `/metrics` on `address` (port 0 picks a free one)."""
    host, port = _host_port(address)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise SettingsError(
            f"{ENV_PREFIX}METRICS_ADDRESS: cannot listen on {address}: {exc.strerror or exc}"
        ) from exc
    return Endpoint(server, thread, server.server_port)


def serve_workers_metrics(address: str, directory: str) -> Endpoint:
    """Serve the sum of what the workers of `engagement serve --workers N` record in
    `directory` (prometheus_client's multiprocess mode: each worker writes its own files,
    so counts of a worker that died stay counted)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return serve_metrics(address, registry)


def start_exposition(
    address: str, metrics: Metrics, store: Callable[[], GrantStore], refresh_seconds: float
) -> Exposition:
    """Serve `/metrics` on `address` (port 0 picks a free one) from a thread of its own."""
    endpoint = serve_metrics(address, metrics.registry)
    return Exposition(endpoint, follow_outbox(metrics, store, refresh_seconds))
