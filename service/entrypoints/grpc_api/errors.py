"""The one place where exceptions become gRPC status codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg
import grpc
import redis.exceptions
import sqlalchemy.exc

import leaderboard as lb
from service.domain import errors
from service.entrypoints.grpc_api.caller import (
    PermissionDenied,
    Unauthenticated,
    current_caller,
    request_id_from,
)
from service.entrypoints.grpc_api.context import Context

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
    if isinstance(exc, _UNREACHABLE) or isinstance(cause, _UNREACHABLE):
        return grpc.StatusCode.UNAVAILABLE, "a backing store is unavailable; retry later"
    return None


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means a store is out of reach, so that retrying at once is pointless."""
    mapped = status_for(exc)
    return mapped is not None and mapped[0] is grpc.StatusCode.UNAVAILABLE


Handler = Callable[[Any, Context], Awaitable[Any]]
MethodHandler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic in the stubs only


def _request_id(context: Context) -> str:
    # The authenticating interceptor has read it already for any call that needs credentials.
    return current_caller().request_id or request_id_from(context.invocation_metadata())


def _mapped(method: str, inner: Handler) -> Handler:
    async def handle(request: Any, context: Context) -> Any:
        try:
            return await inner(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            request_id = _request_id(context)
            mapped = status_for(exc)
            if mapped is None:
                log.exception("internal error in %s (request id %s)", method, request_id)
                mapped = grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})"
            else:
                log.info(
                    "%s failed with %s (request id %s): %s", method, mapped[0].name, request_id, exc
                )
            await context.abort(*mapped)

    return handle


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every unary call so that exceptions become status codes without stack traces."""

    def __init__(self) -> None:
        # Wrapped once per method: the server hands out the same handler for every call.
        self._wrapped: dict[str, tuple[MethodHandler, MethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> MethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        cached = self._wrapped.get(handler_call_details.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = grpc.unary_unary_rpc_method_handler(
            # Under grpc.aio the unary handler is a coroutine function.
            _mapped(handler_call_details.method, handler.unary_unary),  # type: ignore[arg-type]
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[handler_call_details.method] = (handler, wrapped)
        return wrapped
