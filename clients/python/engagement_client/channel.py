"""Channels to the service: TLS (optionally mutual) or plaintext, with a bearer credential."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from engagement_client.retry import DeadlineAndRetry, RetryPolicy
from engagement_client.streams import StreamOpening

ENV_PREFIX = "ENGAGEMENT_"
DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT_SECONDS = 10.0


class ClientConfigError(ValueError):
    """The client's settings are incomplete or name files that cannot be read."""


@dataclass(frozen=True)
class ClientOptions:
    """Where the service is and how to reach it.

    TLS is the default; `plaintext` is for a development server on a trusted host only, as the
    token then crosses the network unencrypted.
    """

    address: str = DEFAULT_ADDRESS
    token: str = ""
    plaintext: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientOptions:
        """ENGAGEMENT_ADDRESS, _TOKEN, _PLAINTEXT, _CA_FILE, _CLIENT_CERT_FILE, _CLIENT_KEY_FILE
        and _TIMEOUT_SECONDS, then `overrides` (those that are not None) on top."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            "address": env.get(f"{ENV_PREFIX}ADDRESS", DEFAULT_ADDRESS),
            "token": env.get(f"{ENV_PREFIX}TOKEN", ""),
            "plaintext": env.get(f"{ENV_PREFIX}PLAINTEXT", "").lower() in ("1", "true", "yes"),
            "ca_file": env.get(f"{ENV_PREFIX}CA_FILE", ""),
            "cert_file": env.get(f"{ENV_PREFIX}CLIENT_CERT_FILE", ""),
            "key_file": env.get(f"{ENV_PREFIX}CLIENT_KEY_FILE", ""),
        }
        if timeout := env.get(f"{ENV_PREFIX}TIMEOUT_SECONDS"):
            try:
                values["timeout_seconds"] = float(timeout)
            except ValueError:
                raise ClientConfigError(f"{ENV_PREFIX}TIMEOUT_SECONDS: not a number") from None
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ClientConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None


def channel_credentials(options: ClientOptions) -> grpc.ChannelCredentials:
    """TLS trusting `ca_file` (else the system's roots), with a client certificate for mTLS."""
    if bool(options.cert_file) != bool(options.key_file):
        raise ClientConfigError("a client certificate needs both its cert file and its key file")
    root = _read(options.ca_file, "CA file") if options.ca_file else None
    cert = _read(options.cert_file, "client certificate") if options.cert_file else None
    key = _read(options.key_file, "client key") if options.key_file else None
    return grpc.ssl_channel_credentials(root, key, cert)


class _Bearer:
    """Sends the token on a plaintext channel, where gRPC refuses call credentials."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _with_token(self, client_call_details: Any) -> Any:
        metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()), self._header)
        return client_call_details._replace(metadata=metadata)


class _BearerUnaryUnary(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(self._with_token(client_call_details), request)


class _BearerUnaryStream(_Bearer, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await continuation(self._with_token(client_call_details), request)


class _BearerStreamUnary(_Bearer, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._with_token(client_call_details), request_iterator)


class _BearerStreamStream(_Bearer, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._with_token(client_call_details), request_iterator)


def bearer_interceptors(token: str) -> list[Any]:
    """One interceptor per kind of call: a grpc.aio channel files each interceptor under the
    first kind it implements only, so one object for all four would serve unary calls alone."""
    kinds = (_BearerUnaryUnary, _BearerUnaryStream, _BearerStreamUnary, _BearerStreamStream)
    return [kind(token) for kind in kinds]


def reconnect_options(policy: RetryPolicy) -> list[tuple[str, int]]:
    """The channel reconnects to a lost server with the policy's backoff (grpc's own starts
    at 1 s and grows to 2 min, which would keep a stream away long after a restart)."""
    return [
        ("grpc.initial_reconnect_backoff_ms", max(1, int(policy.initial_backoff_seconds * 1000))),
        ("grpc.max_reconnect_backoff_ms", max(1, int(policy.max_backoff_seconds * 1000))),
    ]


def open_channel(options: ClientOptions) -> grpc.aio.Channel:
    """A channel whose calls of every kind carry the token; unary calls get a default deadline
    and safe retries, streams a bounded opening (see `StreamOpening`) and no deadline."""
    interceptors: list[Any] = [
        DeadlineAndRetry(options.timeout_seconds, options.retry),
        StreamOpening(options.timeout_seconds, options.retry),
    ]
    channel_options = reconnect_options(options.retry)
    if options.plaintext:
        if options.ca_file or options.cert_file:
            raise ClientConfigError("plaintext and TLS files exclude each other: choose one")
        if options.token:
            interceptors.extend(bearer_interceptors(options.token))
        return grpc.aio.insecure_channel(
            options.address, options=channel_options, interceptors=interceptors
        )
    credentials = channel_credentials(options)
    if options.token:
        # Call credentials: gRPC sends them on calls of every kind.
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(options.token)
        )
    return grpc.aio.secure_channel(
        options.address, credentials, options=channel_options, interceptors=interceptors
    )
