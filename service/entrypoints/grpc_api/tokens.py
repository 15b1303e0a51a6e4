"""Making credentials (HS256 tokens, API keys) and sending one on every call of a channel."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import grpc
import jwt

from service.entrypoints.grpc_api.access import KNOWN_SCOPES
from service.entrypoints.grpc_api.auth import AUTHORIZATION
from service.entrypoints.grpc_api.auth_keys import api_key_digest

API_KEY_PREFIX = "ek_"


def issue_token(
    secret: str,
    subject: str,
    scopes: Iterable[str],
    ttl_seconds: float,
    *,
    audience: str = "",
    issuer: str = "",
    now: float | None = None,
) -> str:
    """An HS256 JWT for `subject` with the space-separated `scope` claim, valid for a while."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + int(ttl_seconds),
    }
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def parse_scopes(text: str) -> list[str]:
    """Scopes from "ops service" (or "ops,service"); ValueError naming an unknown one."""
    scopes = [scope for scope in text.replace(",", " ").split() if scope]
    if not scopes:
        raise ValueError("name at least one scope: " + ", ".join(sorted(KNOWN_SCOPES)))
    for scope in scopes:
        if scope not in KNOWN_SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known: {', '.join(sorted(KNOWN_SCOPES))}")
    return list(dict.fromkeys(scopes))


def new_api_key() -> str:
    """A random API key (256 bits), recognisable by its prefix; it never contains a dot."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_entry(name: str, key: str, scopes: Iterable[str]) -> dict[str, object]:
    """The ENGAGEMENT_API_KEYS entry that accepts `key`: its hash, never the key."""
    return {"name": name, "sha256": api_key_digest(key).hex(), "scopes": list(scopes)}


def _with_bearer(
    details: grpc.aio.ClientCallDetails, entry: tuple[str, str]
) -> grpc.aio.ClientCallDetails:
    """The call's details with the channel's credential, unless the call brings its own."""
    if any(key == AUTHORIZATION for key, _ in details.metadata or ()):
        return details
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout,
        grpc.aio.Metadata(*(details.metadata or ()), entry),
        details.credentials,
        details.wait_for_ready,
    )


class BearerCredential(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Sends `authorization: Bearer <credential>` on every unary call of a client channel."""

    def __init__(self, credential: str) -> None:
        self.entry = (AUTHORIZATION, f"Bearer {credential}")

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_bearer(client_call_details, self.entry), request)


class BearerStreamCredential(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    """The same on server-streaming calls: grpc.aio files an interceptor under one call kind."""

    def __init__(self, credential: str) -> None:
        self.entry = (AUTHORIZATION, f"Bearer {credential}")

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_bearer(client_call_details, self.entry), request)


def bearer_channel(
    address: str,
    token: str,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A channel to `address` whose calls send `token` (or an API key); TLS with `credentials`;
    `options` are grpc channel arguments."""
    interceptors: list[Any] = [BearerCredential(token), BearerStreamCredential(token)]
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(address, credentials, options, interceptors=interceptors)
