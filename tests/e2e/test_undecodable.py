"""Request bodies that are not messages of the RPC's type are INVALID_ARGUMENT, not UNKNOWN."""

from __future__ import annotations

import logging

import grpc
import pytest

from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import check_in_pb2

# A SetUserSegmentsRequest whose first string holds invalid UTF-8, then garbage.
CORRUPT = bytes.fromhex("0a050a03ffffffbc67f7e06c34c154")

BODIES = [
    CORRUPT,
    b"\xff\xff\xff\xff",  # a field number out of range
    check_in_pb2.CheckInRequest(user_id="alice" * 20).SerializeToString()[:-7],  # truncated
    b"\x0a\x02\xc3\x28",  # field 1 (user_id) with invalid UTF-8
    b"\x0d\x01\x02",  # field 1 as a truncated fixed32: wrong wire type and short
]

METHODS = [
    "/engagement.v1.RulesAdminService/SetUserSegments",
    "/engagement.v1.CheckInService/CheckIn",
    "/engagement.v1.EventService/TrackEvent",
    "/grpc.health.v1.Health/Check",
]


def _raw(channel: grpc.aio.Channel, method: str) -> grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]:
    return channel.unary_unary(method, request_serializer=None, response_deserializer=None)


@pytest.mark.parametrize("method", METHODS)
async def test_an_undecodable_body_is_invalid_argument_on_every_rpc(
    server: RunningServer,
    channel: grpc.aio.Channel,
    method: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for body in BODIES:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _raw(channel, method)(body, timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (body, caught.value)
        assert "valid message" in (caught.value.details() or "")
        assert "Traceback" not in (caught.value.details() or "")
    assert not [r for r in caplog.records if r.levelno > logging.WARNING or r.exc_info]


async def test_a_server_stream_refuses_an_undecodable_body(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    watch = channel.unary_stream(
        "/grpc.health.v1.Health/Watch", request_serializer=None, response_deserializer=None
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch(CORRUPT, timeout=10):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
