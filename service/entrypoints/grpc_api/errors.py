"""The one place where exceptions become gRPC status codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import grpc
import redis.exceptions
import sqlalchemy.exc
from google.protobuf.message import DecodeError

import leaderboard as lb
from service.domain import errors
from service.entrypoints.grpc_api.caller import (
    PermissionDenied,
    Unauthenticated,
    current_caller,
    request_id_from,
)
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.wrapping import (
    Deserializer,
    Handler,
    MethodHandler,
    StreamHandler,
    WrappingInterceptor,
    behaviour_of,
    server_stream,
    stream_behaviour_of,
    unary,
)

log = logging.getLogger(__name__)

_DOMAIN_CODES: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    # Raised by the authenticating interceptor, and by servicers with finer rules of their own.
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    # The leaderboard library's refusals: bad input (sizes, limits, ranges), then state.
    (lb.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (lb.ScoreOverflow, grpc.StatusCode.INVALID_ARGUMENT),
    (lb.IdempotencyConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (lb.OutsideSeason, grpc.StatusCode.FAILED_PRECONDITION),
    # A board-period Redis lost, met where no rebuild was waited for: it is being rebuilt.
    (lb.NotLoaded, grpc.StatusCode.UNAVAILABLE),
)

# Errors that mean a store could not be reached or answered in time: the caller may retry.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
_CONFLICT = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str] | None:
    """The status and caller-safe message for `exc`, or None when it is a bug."""
    for kind, code in _DOMAIN_CODES:
        if isinstance(exc, kind):
            return code, str(exc)
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return grpc.StatusCode.UNAVAILABLE, "a backing store is unavailable; retry later"
    if isinstance(cause, _CONFLICT) or isinstance(getattr(cause, "__cause__", None), _CONFLICT):
        return grpc.StatusCode.ABORTED, "the request conflicted with a concurrent one; retry"
    # SQLAlchemy's asyncpg adapter wraps the driver's error once more, as its __cause__.
    if any(isinstance(e, _UNREACHABLE) for e in (exc, cause, getattr(cause, "__cause__", None))):
        return grpc.StatusCode.UNAVAILABLE, "a backing store is unavailable; retry later"
    return None


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means a store is out of reach, so that retrying at once is pointless."""
    mapped = status_for(exc)
    return mapped is not None and mapped[0] is grpc.StatusCode.UNAVAILABLE


def _request_id(context: Context) -> str:
    # The authenticating interceptor has read it already for any call that needs credentials.
    return current_caller().request_id or request_id_from(context.invocation_metadata())


class Undecodable:
    """Stands in for a request body that is not a valid message of the RPC's request type."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """The deserializer, returning Undecodable instead of raising on a malformed body.

    grpc.aio turns an exception raised while deserializing into UNKNOWN with a logged stack
    trace, before any handler runs; the handler below answers INVALID_ARGUMENT instead.
    """
    if deserializer is None:
        return None
    parse = deserializer

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as exc:
            return Undecodable(str(exc))

    return deserialize


async def _refuse_undecodable(method: str, request: Undecodable, context: Context) -> None:
    log.info("undecodable request to %s: %s", method, request.reason)
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT, "request: not a valid message of the RPC's request type"
    )


def store_of(exc: BaseException) -> str:
    """Which store an unreachable-store error came from."""
    chain = (exc, getattr(exc, "orig", None), exc.__cause__)
    return "redis" if any(isinstance(e, redis.exceptions.RedisError) for e in chain) else "postgres"


async def _abort_for(
    method: str, exc: Exception, context: Context, on_unavailable: Callable[[str], None] | None
) -> None:
    """End the call with the status `exc` maps to; INTERNAL (logged with a trace) for a bug."""
    request_id = _request_id(context)
    mapped = status_for(exc)
    if mapped is None:
        log.exception("internal error in %s (request id %s)", method, request_id)
        mapped = grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})"
    else:
        log.info("%s failed with %s (request id %s): %s", method, mapped[0].name, request_id, exc)
        if mapped[0] is grpc.StatusCode.UNAVAILABLE and on_unavailable is not None:
            on_unavailable(store_of(exc))
    await context.abort(*mapped)


def _mapped(method: str, inner: Handler, on_unavailable: Callable[[str], None] | None) -> Handler:
    async def handle(request: Any, context: Context) -> Any:
        if isinstance(request, Undecodable):
            await _refuse_undecodable(method, request, context)
        try:
            return await inner(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - each becomes a status; a bug is logged there
            await _abort_for(method, exc, context, on_unavailable)

    return handle


def _mapped_stream(
    method: str, inner: StreamHandler, on_unavailable: Callable[[str], None] | None
) -> StreamHandler:
    """A server-streaming handler whose errors, also after some responses, become statuses."""

    async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
        if isinstance(request, Undecodable):
            await _refuse_undecodable(method, request, context)
        try:
            async for response in inner(request, context):
                yield response
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - each becomes a status; a bug is logged there
            await _abort_for(method, exc, context, on_unavailable)

    return handle


def _streaming(
    method: str, inner: Callable[[Any, Context], Any]
) -> Callable[[Any, Context], AsyncIterator[Any]]:
    """A server-streaming handler (the health Watch) that refuses undecodable requests.

    It yields the responses rather than writing them: an instrumentation's interceptor
    outside this one (OpenTelemetry's) iterates what a streaming handler returns."""

    async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
        if isinstance(request, Undecodable):
            await _refuse_undecodable(method, request, context)
        responses = inner(request, context)
        if hasattr(responses, "__aiter__"):
            async for response in responses:
                yield response
        else:
            await responses

    return handle


class ErrorMappingInterceptor(WrappingInterceptor):
    """Wraps every unary and server-streaming call so that exceptions become status codes
    without stack traces, and every call with a request message so that an undecodable one
    is INVALID_ARGUMENT.

    `on_unavailable` hears the store ("postgres" or "redis") behind each UNAVAILABLE."""

    def __init__(self, on_unavailable: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self._on_unavailable = on_unavailable

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        deserializer = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            mapped = _mapped(method, behaviour_of(handler), self._on_unavailable)
            return unary(handler, mapped, deserializer)
        if (streaming := stream_behaviour_of(handler)) is not None:
            mapped_stream = _mapped_stream(method, streaming, self._on_unavailable)
            return server_stream(handler, mapped_stream, deserializer)
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(method, handler.unary_stream),  # type: ignore[arg-type]
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # request streams (reflection) are grpc's own
