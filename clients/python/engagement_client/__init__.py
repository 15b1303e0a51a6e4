"""Typed async client of the engagement service."""

from engagement_client.channel import ClientConfigError, ClientOptions, open_channel
from engagement_client.client import EngagementClient
from engagement_client.idempotency import derived_key, new_key
from engagement_client.retry import NO_RETRY, RetryPolicy, is_idempotent
from engagement_client.watch import Watching

__all__ = [
    "NO_RETRY",
    "ClientConfigError",
    "ClientOptions",
    "EngagementClient",
    "RetryPolicy",
    "Watching",
    "derived_key",
    "is_idempotent",
    "new_key",
    "open_channel",
]
