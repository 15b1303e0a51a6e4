"""The client's channel against a real grpc.aio server of probe methods: the token on every
kind of call, and how a server-streaming call opens (retries, its deadline, none once open)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.wrappers_pb2 import StringValue

from engagement_client import ClientOptions, RetryPolicy, open_channel

pytestmark = pytest.mark.e2e

TOKEN = "probe-token"
FAST = RetryPolicy(max_attempts=5, initial_backoff_seconds=0.01, max_backoff_seconds=0.05)
_SERDE: dict[str, Any] = {
    "request_deserializer": StringValue.FromString,
    "response_serializer": StringValue.SerializeToString,
}


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> StringValue:
    found = dict(context.invocation_metadata() or ()).get("authorization", "")
    return StringValue(value=str(found))


class _Probe(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Methods of each kind that answer with the caller's authorization header, and streams
    that fail, stall or report their deadline."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.unavailable = 0

    def service(self, details: Any) -> Any:
        name = details.method.rsplit("/", 1)[-1]
        self.seen[name] += 1
        kinds: dict[str, Any] = {
            "Echo": grpc.unary_unary_rpc_method_handler(self._echo, **_SERDE),
            "WatchEcho": grpc.unary_stream_rpc_method_handler(self._watch_echo, **_SERDE),
            "Upload": grpc.stream_unary_rpc_method_handler(self._upload, **_SERDE),
            "Chat": grpc.stream_stream_rpc_method_handler(self._chat, **_SERDE),
            "WatchFlaky": grpc.unary_stream_rpc_method_handler(self._flaky, **_SERDE),
            "StreamFlaky": grpc.unary_stream_rpc_method_handler(self._flaky, **_SERDE),
            "WatchSilent": grpc.unary_stream_rpc_method_handler(self._silent, **_SERDE),
        }
        return kinds.get(name)

    async def _echo(self, request: StringValue, context: Any) -> StringValue:
        return _authorization(context)

    async def _watch_echo(self, request: StringValue, context: Any) -> AsyncIterator[StringValue]:
        yield _authorization(context)
        remaining = context.time_remaining()
        yield StringValue(value="no deadline" if remaining is None else f"{remaining:.1f}")

    async def _upload(self, requests: Any, context: Any) -> StringValue:
        async for _ in requests:
            pass
        return _authorization(context)

    async def _chat(self, requests: Any, context: Any) -> AsyncIterator[StringValue]:
        async for _ in requests:
            yield _authorization(context)

    async def _flaky(self, request: StringValue, context: Any) -> AsyncIterator[StringValue]:
        if self.unavailable > 0:
            self.unavailable -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "injected: not serving")
        yield StringValue(value="open")

    async def _silent(self, request: StringValue, context: Any) -> AsyncIterator[StringValue]:
        await asyncio.Event().wait()  # sends nothing until the client gives up on it
        yield StringValue(value="too late")


@pytest.fixture
async def probe() -> AsyncIterator[tuple[_Probe, int]]:
    handler = _Probe()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield handler, port
    await server.stop(0)


def _channel(port: int, timeout: float = 10.0) -> grpc.aio.Channel:
    options = ClientOptions(
        address=f"127.0.0.1:{port}", token=TOKEN, plaintext=True,
        timeout_seconds=timeout, retry=FAST,
    )  # fmt: skip
    return open_channel(options)


def _method(name: str) -> str:
    return f"/probe.v1.Probe/{name}"


async def _requests() -> AsyncIterator[StringValue]:
    yield StringValue(value="a")


async def test_every_kind_of_call_carries_the_token(probe: tuple[_Probe, int]) -> None:
    _, port = probe
    bearer = f"Bearer {TOKEN}"
    async with _channel(port) as channel:
        unary = channel.unary_unary(_method("Echo"), **_client_serde())
        assert (await unary(StringValue())).value == bearer
        watch = channel.unary_stream(_method("WatchEcho"), **_client_serde())
        echoed = [m.value async for m in watch(StringValue())]
        assert echoed[0] == bearer
        upload = channel.stream_unary(_method("Upload"), **_client_serde())
        assert (await upload(_requests())).value == bearer
        chat = channel.stream_stream(_method("Chat"), **_client_serde())
        assert [m.value async for m in chat(_requests())] == [bearer]


async def test_a_stream_has_no_deadline_unless_the_caller_sets_one(
    probe: tuple[_Probe, int],
) -> None:
    _, port = probe
    async with _channel(port, timeout=5.0) as channel:
        watch = channel.unary_stream(_method("WatchEcho"), **_client_serde())
        unbounded = [m.value async for m in watch(StringValue())]
        assert unbounded[1] == "no deadline"
        bounded = [m.value async for m in watch(StringValue(), timeout=60.0)]
        assert bounded[1] != "no deadline"
        assert float(bounded[1]) > 5.0  # the caller's 60 s, not the default 5 s


async def test_a_watch_that_meets_unavailable_before_opening_is_retried(
    probe: tuple[_Probe, int],
) -> None:
    handler, port = probe
    handler.unavailable = 2
    async with _channel(port) as channel:
        watch = channel.unary_stream(_method("WatchFlaky"), **_client_serde())
        assert [m.value async for m in watch(StringValue())] == ["open"]
    assert handler.seen["WatchFlaky"] == 3


async def test_a_stream_not_safe_to_repeat_is_not_retried(probe: tuple[_Probe, int]) -> None:
    handler, port = probe
    handler.unavailable = 1
    async with _channel(port) as channel:
        stream = channel.unary_stream(_method("StreamFlaky"), **_client_serde())
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            _ = [m async for m in stream(StringValue())]
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert handler.seen["StreamFlaky"] == 1


async def test_a_stream_that_sends_nothing_fails_to_open_within_the_default_deadline(
    probe: tuple[_Probe, int],
) -> None:
    _, port = probe
    async with _channel(port, timeout=0.3) as channel:
        watch = channel.unary_stream(_method("WatchSilent"), **_client_serde())
        call = watch(StringValue())
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "did not open" in (raised.value.details() or "")


def _client_serde() -> dict[str, Any]:
    return {
        "request_serializer": StringValue.SerializeToString,
        "response_deserializer": StringValue.FromString,
    }
