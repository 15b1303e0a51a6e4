"""How the gRPC port is protected: TLS or mutual TLS, and the authenticator, from settings."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from service.entrypoints.grpc_api.auth import Authenticator
from service.settings import ENV_PREFIX, Settings, SettingsError, read_file_setting


def _certificates(variable: str, path: str) -> bytes:
    pem = read_file_setting(variable, path)
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{variable}: {path} holds no PEM certificate") from exc
    return pem


def _private_key(path: str) -> bytes:
    pem = read_file_setting("GRPC_TLS_KEY_FILE", path)
    try:
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        message = f"{path} holds no unencrypted PEM private key"
        raise SettingsError(f"{ENV_PREFIX}GRPC_TLS_KEY_FILE: {message}") from exc
    return pem


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials for the port (requiring client certificates with a client CA), or None
    for plaintext."""
    if not settings.grpc_tls_cert_file:
        return None
    chain = _certificates("GRPC_TLS_CERT_FILE", settings.grpc_tls_cert_file)
    key = _private_key(settings.grpc_tls_key_file)
    client_ca = settings.grpc_tls_client_ca_file
    roots = _certificates("GRPC_TLS_CLIENT_CA_FILE", client_ca) if client_ca else None
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=roots, require_client_auth=roots is not None
    )


@dataclass(frozen=True)
class ServerSecurity:
    """What `start_server` protects the port with."""

    authenticator: Authenticator
    # None serves plaintext, which the settings allow only when asked for explicitly.
    credentials: grpc.ServerCredentials | None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerSecurity:
        """Read every key and certificate file; SettingsError when serving would be unsafe."""
        settings.require_serving_security()
        return cls(Authenticator.from_settings(settings), server_credentials(settings))
