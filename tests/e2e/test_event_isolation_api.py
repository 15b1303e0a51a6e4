"""Concurrent TrackEvent calls through the server: a hostile event fails only its own call."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from service.app.rules import events
from service.entrypoints.grpc_api.request_checks import RequestChecks
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc

pytestmark = pytest.mark.e2e

HOSTILE = {3, 21, 38}


def _orders() -> list[events_pb.TrackEventRequest]:
    """40 valid orders and, among them, 3 whose attribute holds a NUL byte."""
    return [
        events_pb.TrackEventRequest(
            user_id=f"u{n:02}",
            type="order.paid",
            value=1,
            idempotency_key=f"order-{n}",
            attributes={"category": "bo\x00oks" if n in HOSTILE else "books"},
        )
        for n in range(43)
    ]


async def _send_all(channel: grpc.aio.Channel) -> list[grpc.StatusCode]:
    sender = events_grpc.EventServiceStub(channel)

    async def send(request: events_pb.TrackEventRequest) -> grpc.StatusCode:
        try:
            await sender.TrackEvent(request)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        return grpc.StatusCode.OK

    return list(await asyncio.gather(*(send(r) for r in _orders())))


async def test_hostile_attributes_are_refused_and_the_rest_succeed(
    channel: grpc.aio.Channel,
) -> None:
    codes = await _send_all(channel)

    assert {n for n, code in enumerate(codes) if code is not grpc.StatusCode.OK} == HOSTILE
    assert {codes[n] for n in HOSTILE} == {grpc.StatusCode.INVALID_ARGUMENT}


async def test_events_the_store_refuses_fail_only_their_own_calls(
    channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the validation, Postgres refuses the NUL bytes: still only those calls fail."""
    monkeypatch.setattr(events, "_attributes", lambda attributes: dict(attributes or {}))
    monkeypatch.setattr(RequestChecks, "check", lambda self, message: None)

    codes = await _send_all(channel)

    assert {n for n, code in enumerate(codes) if code is not grpc.StatusCode.OK} == HOSTILE
    assert {codes[n] for n in HOSTILE} == {grpc.StatusCode.INTERNAL}
