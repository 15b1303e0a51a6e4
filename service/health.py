"""Waiting for a server's health status through the Watch stream (tests, benchmarks)."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


async def wait_for_health(channel: grpc.aio.Channel, wanted: int, service: str = "") -> None:
    """Follow the health Watch stream until it reports `wanted` (no polling, no sleeping)."""
    stub = health_pb2_grpc.HealthStub(channel)
    call = stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=20)
    async for response in call:
        if response.status == wanted:
            call.cancel()
            return
    raise AssertionError(f"health never reached {wanted}")
