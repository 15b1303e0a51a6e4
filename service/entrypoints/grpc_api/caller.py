"""Who is making the current call: set once per call by the server's interceptors.

Handlers below the servicers never read it; servicers pass what they need (an actor for the
audit log, the user a player may act for) down as plain arguments.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """The accepted credential of a call and the call's request id."""

    # A player's user id, or the name of a service, API key or operator.
    subject: str
    # Some of "player", "service", "ops".
    scopes: frozenset[str]
    request_id: str = ""


ANONYMOUS = Caller("anonymous", frozenset())

_current: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the call being served (ANONYMOUS outside a call)."""
    return _current.get()


def set_caller(caller: Caller) -> contextvars.Token[Caller]:
    """Make `caller` the current one until `reset_caller` with the returned token."""
    return _current.set(caller)


def reset_caller(token: contextvars.Token[Caller]) -> None:
    _current.reset(token)
