"""Channels to the service: TLS (optionally mutual) or plaintext, with a bearer credential."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from engagement_client.retry import DeadlineAndRetry, RetryPolicy

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


class _Bearer(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    """Sends the token on a plaintext channel, where gRPC refuses call credentials."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()), self._header)
        return await continuation(client_call_details._replace(metadata=metadata), request)


def open_channel(options: ClientOptions) -> grpc.aio.Channel:
    """A channel whose calls carry the token, a default deadline and safe retries."""
    interceptors: list[Any] = [DeadlineAndRetry(options.timeout_seconds, options.retry)]
    if options.plaintext:
        if options.ca_file or options.cert_file:
            raise ClientConfigError("plaintext and TLS files exclude each other: choose one")
        if options.token:
            interceptors.append(_Bearer(options.token))
        return grpc.aio.insecure_channel(options.address, interceptors=interceptors)
    credentials = channel_credentials(options)
    if options.token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(options.token)
        )
    return grpc.aio.secure_channel(options.address, credentials, interceptors=interceptors)
