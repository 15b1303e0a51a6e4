"""What every interceptor of the server shares: each method's handler wrapped once."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, cast

import grpc

from service.entrypoints.grpc_api.context import Context

Handler = Callable[[Any, Context], Awaitable[Any]]
# A server-streaming behaviour: an async generator function of the request and context.
StreamHandler = Callable[[Any, Context], AsyncIterator[Any]]
MethodHandler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only
Deserializer = Callable[[bytes], Any]


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps the handler of each method with `wrap`, once: the server hands out the same
    handler for every call of a method, so the wrapped one is kept."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[MethodHandler, MethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[MethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        """The handler to serve `method` with instead of `handler`."""
        raise NotImplementedError


def unary(
    handler: MethodHandler, behaviour: Handler, deserializer: Deserializer | None = None
) -> MethodHandler:
    """A unary handler that runs `behaviour`, with the serializers of `handler`."""
    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def behaviour_of(handler: MethodHandler) -> Handler:
    """The coroutine function behind a unary `handler` (grpc's stubs type it as a plain one)."""
    assert handler.unary_unary is not None
    return cast(Handler, handler.unary_unary)


def server_stream(
    handler: MethodHandler, behaviour: StreamHandler, deserializer: Deserializer | None = None
) -> MethodHandler:
    """A server-streaming handler that runs `behaviour`, with the serializers of `handler`."""
    return grpc.unary_stream_rpc_method_handler(
        behaviour,
        request_deserializer=deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def stream_behaviour_of(handler: MethodHandler) -> StreamHandler | None:
    """The async generator function behind a server-streaming `handler`; None for any other
    kind, and for one that writes with `context.write` instead (grpc's health Watch)."""
    behaviour = handler.unary_stream
    if behaviour is None or not inspect.isasyncgenfunction(behaviour):
        return None
    return cast(StreamHandler, behaviour)
