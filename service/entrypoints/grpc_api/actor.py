"""The audit log's actor of the current call, read from its caller."""

from __future__ import annotations

from service.app.audit import Actor
from service.entrypoints.grpc_api.caller import current_caller


def current_actor() -> Actor:
    """Who makes the call being served, as the app layer records it."""
    caller = current_caller()
    return Actor(caller.subject, caller.request_id)
