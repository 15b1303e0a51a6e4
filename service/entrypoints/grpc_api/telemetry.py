"""The outermost interceptor: every call's request id, its metrics and its access log line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from service.entrypoints.grpc_api.access import OPEN_SERVICES
from service.entrypoints.grpc_api.caller import request_id_from
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.wrapping import (
    Handler,
    MethodHandler,
    StreamHandler,
    WrappingInterceptor,
    behaviour_of,
    server_stream,
    stream_behaviour_of,
    unary,
)
from service.observability.logs import ACCESS_LOGGER, Call, bind_call, unbind_call
from service.observability.metrics import Metrics

access_log = logging.getLogger(ACCESS_LOGGER)
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def status_name(context: Context) -> str:
    """The status a handler set or aborted with, by name; OK when it set none."""
    code: Any = context.code()
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    return _CODE_NAMES.get(code, "UNKNOWN")


class TelemetryInterceptor(WrappingInterceptor):
    """Binds a request id (the caller's `x-request-id`, else a new one) to every log line
    of a call, counts and times the call by method and status, and writes one access log
    line per call (health checks and reflection excepted)."""

    def __init__(self, metrics: Metrics | None, *, access: bool) -> None:
        super().__init__()
        self._metrics = metrics
        self._access = access

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        recorder = _Recorder(
            method.rpartition(".")[2],  # "CheckInService/CheckIn"
            self._metrics,
            logged=self._access and not method.startswith(OPEN_SERVICES),
        )
        if handler.unary_unary is not None:
            return unary(handler, _observed(recorder, behaviour_of(handler)))
        if (streaming := stream_behaviour_of(handler)) is not None:
            return server_stream(handler, _observed_stream(recorder, streaming))
        return handler  # health's Watch and reflection


class _Recorder:
    """What one method's calls record when they end: metrics and the access log line."""

    def __init__(self, name: str, metrics: Metrics | None, *, logged: bool) -> None:
        self.name, self._metrics, self._logged = name, metrics, logged

    def ended(self, call: Call, code: str, start: float) -> None:
        seconds = time.perf_counter() - start
        if self._metrics is not None:
            self._metrics.call(self.name, code, seconds)
        if self._logged:
            _log_access(self.name, code, seconds, call)


def _code_of(exc: BaseException, context: Context) -> str:
    if isinstance(exc, grpc.aio.AbortError):
        return status_name(context)
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    return "UNKNOWN"  # the error mapping inside turns every exception into a status


def _observed(recorder: _Recorder, inner: Handler) -> Handler:
    async def handle(request: Any, context: Context) -> Any:
        call = Call(request_id_from(context.invocation_metadata()))
        token = bind_call(call)
        start, code = time.perf_counter(), "OK"
        try:
            response = await inner(request, context)
            code = status_name(context)
            return response
        except BaseException as exc:
            code = _code_of(exc, context)
            raise
        finally:
            recorder.ended(call, code, start)
            unbind_call(token)

    return handle


def _observed_stream(recorder: _Recorder, inner: StreamHandler) -> StreamHandler:
    async def handle(request: Any, context: Context) -> AsyncIterator[Any]:
        call = Call(request_id_from(context.invocation_metadata()))
        # Bound for the rest of the call's task and never reset: a generator may be closed
        # from another context (asyncio's finalizer), where resetting would raise.
        bind_call(call)
        start, code = time.perf_counter(), "OK"
        try:
            async for response in inner(request, context):
                yield response
            code = status_name(context)
        except BaseException as exc:
            code = _code_of(exc, context)
            raise
        finally:
            recorder.ended(call, code, start)

    return handle


def _log_access(method: str, code: str, seconds: float, call: Call) -> None:
    millis = round(seconds * 1000, 2)
    fields = {"method": method, "code": code, "duration_ms": millis, "subject": call.subject}
    access_log.info("%s %s %.2f ms %s", method, code, millis, call.subject, extra=fields)
