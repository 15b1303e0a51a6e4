"""The keys that verify bearer credentials, read once from the auth settings at startup."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.settings import ENV_PREFIX, AuthSettings, SettingsError, read_file_setting

ALGORITHMS = ("HS256", "RS256", "ES256")


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One key a JWT's signature may verify against."""

    algorithm: str
    key: Any  # bytes for HS256, a cryptography public key otherwise
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A configured API key: the SHA-256 digest of the key, never the key itself."""

    digest: bytes
    name: str
    scopes: frozenset[str]


def api_key_digest(key: str) -> bytes:
    """The SHA-256 digest an API key is configured by (its hex goes into API_KEYS)."""
    return hashlib.sha256(key.encode()).digest()


def _public_key(path: str) -> VerificationKey:
    variable = "JWT_PUBLIC_KEY_FILES"
    try:
        key = serialization.load_pem_public_key(read_file_setting(variable, path))
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{variable}: {path} is not a PEM public key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        return VerificationKey("RS256", key)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return VerificationKey("ES256", key)
    raise SettingsError(f"{ENV_PREFIX}{variable}: {path} is neither RSA nor EC P-256")


def _jwks(path: str) -> list[VerificationKey]:
    variable = "JWT_JWKS_FILE"
    try:
        key_set = jwt.PyJWKSet.from_json(read_file_setting(variable, path).decode())
    except (jwt.PyJWTError, ValueError) as exc:
        raise SettingsError(f"{ENV_PREFIX}{variable}: {path}: {exc}") from exc
    keys = [VerificationKey(k.algorithm_name, k.key, k.key_id) for k in key_set.keys]
    if unusable := sorted({k.algorithm for k in keys} - set(ALGORITHMS)):
        raise SettingsError(f"{ENV_PREFIX}{variable}: {path}: algorithm {unusable[0]} not accepted")
    return keys


def verification_keys(settings: AuthSettings) -> dict[str, list[VerificationKey]]:
    """Every configured JWT key, by algorithm."""
    keys = [VerificationKey("HS256", secret.encode()) for secret in settings.jwt_hs256_secrets]
    keys += [_public_key(path) for path in settings.jwt_public_key_files]
    if settings.jwt_jwks_file:
        keys += _jwks(settings.jwt_jwks_file)
    by_algorithm: dict[str, list[VerificationKey]] = {}
    for key in keys:
        by_algorithm.setdefault(key.algorithm, []).append(key)
    return by_algorithm


def api_keys(settings: AuthSettings) -> tuple[ApiKey, ...]:
    """Every configured API key, digests decoded once."""
    return tuple(
        ApiKey(bytes.fromhex(entry.sha256), entry.name, frozenset(entry.scopes))
        for entry in settings.api_keys
    )
