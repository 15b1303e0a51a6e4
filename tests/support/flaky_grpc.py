"""A gRPC front that forwards every call to a real server, but first fails or stalls as told."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc


@dataclass
class Faults:
    """What the front does, per method name (e.g. "TrackEvent")."""

    # Answer UNAVAILABLE this many times before forwarding.
    refuse: Counter[str] = field(default_factory=Counter)
    # Forward, then answer UNAVAILABLE anyway (the answer is "lost") this many times.
    lose_answer: Counter[str] = field(default_factory=Counter)
    # Methods that hang until the caller's deadline.
    stall: set[str] = field(default_factory=set)
    # Calls seen and calls forwarded to the real server, per method.
    seen: Counter[str] = field(default_factory=Counter)
    forwarded: Counter[str] = field(default_factory=Counter)


def _identity(data: bytes) -> bytes:
    return data


class _Forward(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    def __init__(self, upstream: grpc.aio.Channel, faults: Faults) -> None:
        self._upstream = upstream
        self._faults = faults

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler[bytes, bytes]:
        method = handler_call_details.method
        upstream = self._upstream.unary_unary(
            method, request_serializer=_identity, response_deserializer=_identity
        )
        name = method.rsplit("/", 1)[-1]

        async def behaviour(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            faults = self._faults
            faults.seen[name] += 1
            if name in faults.stall:
                await asyncio.Event().wait()
            if faults.refuse[name] > 0:
                faults.refuse[name] -= 1
                await context.abort(grpc.StatusCode.UNAVAILABLE, "injected: not serving")
            metadata = tuple(context.invocation_metadata() or ())
            faults.forwarded[name] += 1
            try:
                answer: bytes = await upstream(request, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                await context.abort(exc.code(), exc.details() or "")
            if faults.lose_answer[name] > 0:
                faults.lose_answer[name] -= 1
                await context.abort(grpc.StatusCode.UNAVAILABLE, "injected: answer lost")
            return answer

        return grpc.unary_unary_rpc_method_handler(
            behaviour, request_deserializer=_identity, response_serializer=_identity
        )


class FlakyFront:
    """Listens on a loopback port; `faults` says how each method misbehaves."""

    def __init__(self, upstream_port: int) -> None:
        self.faults = Faults()
        self._upstream = grpc.aio.insecure_channel(f"127.0.0.1:{upstream_port}")
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers((_Forward(self._upstream, self.faults),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop(0)
        await self._upstream.close(None)
