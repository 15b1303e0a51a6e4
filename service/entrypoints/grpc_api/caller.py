"""Who is making the current call: set once per call by the server's interceptors.

Handlers below the servicers never read it; servicers pass what they need (an actor for the
audit log, the user a player may act for) down as plain arguments.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.observability.logs import current_call

REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True, slots=True)
class Caller:
    """The accepted credential of a call and the call's request id."""

    # A player's user id, or the name of a service, API key or operator.
    subject: str
    # Some of "player", "service", "ops".
    scopes: frozenset[str]
    request_id: str = ""


ANONYMOUS = Caller("anonymous", frozenset())


class Unauthenticated(Exception):
    """No credential, or one that is malformed, expired or does not verify; caller-safe text."""


class PermissionDenied(Exception):
    """A verified caller that may not make this call (scope, or another user); caller-safe."""


_current: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the call being served (ANONYMOUS outside a call)."""
    return _current.get()


def set_caller(caller: Caller) -> contextvars.Token[Caller]:
    """Make `caller` the current one until `reset_caller` with the returned token."""
    return _current.set(caller)


def reset_caller(token: contextvars.Token[Caller]) -> None:
    _current.reset(token)


def request_id_from(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The id the telemetry interceptor gave the call; else the caller's x-request-id when it
    sent a usable one, else a new random id."""
    call = current_call()
    if call is not None:
        return call.request_id
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex
