"""Credentials for tests: the test secret, tokens with any claims, and channels that send them."""

from __future__ import annotations

from typing import Any

import grpc
import jwt

from service.entrypoints.grpc_api.tokens import bearer_channel, issue_token

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 3
OPERATOR_SCOPES = ("ops", "service")


def token(subject: str = "test-operator", scopes: str = "ops service", ttl: float = 600) -> str:
    """An HS256 token from the test secret, as `engagement token` issues it."""
    return issue_token(TEST_SECRET, subject, scopes.split(), ttl)


def raw_token(claims: dict[str, Any], key: Any = TEST_SECRET, algorithm: str = "HS256",
              headers: dict[str, Any] | None = None) -> str:  # fmt: skip
    """A token with exactly `claims`, signed as asked."""
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def channel(
    port: int, credential: str | None = None, credentials: grpc.ChannelCredentials | None = None
) -> grpc.aio.Channel:
    """A channel to a local server that sends `credential` (an operator token by default)."""
    address = f"127.0.0.1:{port}" if credentials is None else f"localhost:{port}"
    return bearer_channel(address, credential or token(), credentials)
