"""Log lines as JSON or text, each carrying the request id of the call it was written in."""

from __future__ import annotations

import contextvars
import logging
import sys
from dataclasses import dataclass
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
ACCESS_LOGGER = "service.access"


@dataclass(slots=True)
class Call:
    """What the log lines of one call share; the interceptors fill it in as they learn it."""

    request_id: str
    subject: str = ""


_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar("call", default=None)


def current_call() -> Call | None:
    """The call being served, or None outside one (startup, background duties)."""
    return _call.get()


def bind_call(call: Call) -> contextvars.Token[Call | None]:
    return _call.set(call)


def unbind_call(token: contextvars.Token[Call | None]) -> None:
    _call.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the call's, or empty outside a call."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = _call.get()
        record.request_id = call.request_id if call is not None else ""
        return True


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send every log line to stderr in `log_format`, replacing any handler set before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s [%(request_id)s]")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
