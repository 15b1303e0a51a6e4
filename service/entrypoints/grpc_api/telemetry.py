"""The outermost interceptor: every call's request id, its metrics and its access log line."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import grpc

from service.entrypoints.grpc_api.access import OPEN_SERVICES
from service.entrypoints.grpc_api.caller import request_id_from
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.wrapping import (
    Handler,
    MethodHandler,
    WrappingInterceptor,
    behaviour_of,
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
        if handler.unary_unary is None:
            return handler
        logged = self._access and not method.startswith(OPEN_SERVICES)
        return unary(handler, self._observed(method, behaviour_of(handler), logged))

    def _observed(self, method: str, inner: Handler, logged: bool) -> Handler:
        name = method.rpartition(".")[2]  # "CheckInService/CheckIn"
        metrics = self._metrics

        async def handle(request: Any, context: Context) -> Any:
            call = Call(request_id_from(context.invocation_metadata()))
            token = bind_call(call)
            start = time.perf_counter()
            code = "OK"
            try:
                response = await inner(request, context)
                code = status_name(context)
                return response
            except grpc.aio.AbortError:
                code = status_name(context)
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except BaseException:
                code = "UNKNOWN"  # the error mapping inside turns every exception into a status
                raise
            finally:
                seconds = time.perf_counter() - start
                if metrics is not None:
                    metrics.call(name, code, seconds)
                if logged:
                    _log_access(name, code, seconds, call)
                unbind_call(token)

        return handle


def _log_access(method: str, code: str, seconds: float, call: Call) -> None:
    millis = round(seconds * 1000, 2)
    fields = {"method": method, "code": code, "duration_ms": millis, "subject": call.subject}
    access_log.info("%s %s %.2f ms %s", method, code, millis, call.subject, extra=fields)
