"""The one settings object, read from ENGAGEMENT_* environment variables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.domain.boards import MAX_SCORE
from service.domain.rewards import RewardKind
from service.domain.rules.limits import DEFAULT_MAX_EVENT_VALUE, MAX_GRANT_CEILING

ENV_PREFIX = "ENGAGEMENT_"
SCOPES = ("player", "service", "ops")
# Below this an HS256 secret can be guessed offline from one token (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32


def available_cpus() -> int:
    """The CPUs this process may run on: a container's CPU set counts, a CPU quota does not."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SettingsError(Exception):
    """A missing or invalid setting; the message names the variable."""


class DatabaseSettings(BaseSettings):
    """What reaching Postgres takes; enough for `engagement migrate`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    database_url: str = Field(description="postgresql:// URL of the source-of-truth database")
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        for scheme in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if value.startswith(scheme):
                return "postgresql+asyncpg://" + value.removeprefix(scheme)
        raise ValueError("must start with postgresql://")


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _json_list(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON list: {exc.msg} at {exc.pos}") from exc
    return value


CommaSeparated = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)]


class ApiKeyEntry(BaseModel):
    """One static API key for a service, known only by the SHA-256 of the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.:@-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: tuple[Literal["service", "ops"], ...] = Field(min_length=1)


class AuthSettings(BaseSettings):
    """How callers prove who they are: bearer JWTs and static API keys."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    # Comma-separated; the first signs `engagement token`, every one verifies (for rotation).
    jwt_hs256_secrets: CommaSeparated = ()
    # Comma-separated PEM files of RSA (RS256) or P-256 (ES256) public keys.
    jwt_public_key_files: CommaSeparated = ()
    jwt_jwks_file: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    api_keys: Annotated[tuple[ApiKeyEntry, ...], NoDecode, BeforeValidator(_json_list)] = ()

    @field_validator("jwt_hs256_secrets")
    @classmethod
    def _long_secrets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(secret.encode()) < MIN_SECRET_BYTES for secret in value):
            raise ValueError(f"each secret must be at least {MIN_SECRET_BYTES} bytes long")
        return value

    @field_validator("api_keys")
    @classmethod
    def _distinct_keys(cls, value: tuple[ApiKeyEntry, ...]) -> tuple[ApiKeyEntry, ...]:
        if len({entry.sha256 for entry in value}) < len(value):
            raise ValueError("the same sha256 appears twice")
        return value

    def can_authenticate(self) -> bool:
        """Whether any credential at all could be accepted."""
        return bool(
            self.jwt_hs256_secrets or self.jwt_public_key_files or self.jwt_jwks_file
            or self.api_keys
        )  # fmt: skip


class Settings(DatabaseSettings, AuthSettings):
    """Everything the composition root needs to build the service."""

    redis_url: str = Field(description="redis://, rediss:// or unix:// URL")
    # The URL names one node of a Redis Cluster; the client finds the others from it.
    redis_cluster: bool = Field(default=False, validate_default=True)
    grpc_address: str = "127.0.0.1:50051"
    # Server processes sharing the port (`engagement serve --workers`); 1 serves in one process.
    workers: int = Field(default_factory=available_cpus, ge=1, le=256)
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=300)
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    redis_key_prefix: str = Field(default="eng", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    redis_pool_size: int = Field(default=64, ge=1, le=10_000)
    health_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # Observability (see the README's "Observability"): log lines as JSON or text, one access
    # log line per call, Prometheus metrics on host:port ("" serves none), and traces.
    log_format: Literal["json", "text"] = "json"
    access_log: bool = True
    metrics_address: str = Field(default="", pattern=r"^(|[A-Za-z0-9.\[\]:-]*:[0-9]{1,5})$")
    metrics_refresh_seconds: float = Field(default=15.0, gt=0, le=3600)
    tracing: Literal["off", "otlp", "console"] = "off"
    # How far an event's occurred_at may lie behind or ahead of the server's clock.
    event_max_age_seconds: float = Field(default=7 * 86400.0, gt=0, le=90 * 86400)
    event_max_skew_seconds: float = Field(default=300.0, ge=0, le=86400)
    # Load limits (see the README's "Limits"): calls served at once, and token buckets per
    # user and per credential (a rate or burst of 0 turns that bucket off).
    max_concurrent_calls: int = Field(default=256, ge=1, le=100_000)
    user_rate_limit_per_second: float = Field(default=50.0, ge=0, le=1_000_000)
    user_rate_limit_burst: int = Field(default=100, ge=0, le=1_000_000)
    credential_rate_limit_per_second: float = Field(default=0.0, ge=0, le=1_000_000)
    credential_rate_limit_burst: int = Field(default=0, ge=0, le=1_000_000)
    # An event whose |value| is larger is stored as rejected and flagged, and pays nothing.
    event_max_value: int = Field(default=DEFAULT_MAX_EVENT_VALUE, ge=1, le=MAX_SCORE)
    # The largest amount one grant pays, per reward kind, as JSON ({"points": 50000});
    # a kind left out keeps its default. Boosted amounts are cut to it.
    max_grant_amounts: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # Delivery of the grant outbox to the core loyalty system (see the README's "Grant delivery").
    loyalty_sink: Literal["none", "grpc", "redis_stream"] = "none"
    loyalty_address: str = Field(default="", validate_default=True)
    loyalty_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    loyalty_stream: str = Field(default="", max_length=256, validate_default=True)
    loyalty_stream_redis_url: str = ""
    loyalty_stream_maxlen: int = Field(default=0, ge=0)
    loyalty_stream_dedup_seconds: float = Field(default=86400.0, ge=0, le=30 * 86400)
    relay_in_process: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=1000)
    relay_concurrency: int = Field(default=2, ge=1, le=32)
    relay_poll_interval_seconds: float = Field(default=0.1, gt=0, le=60)
    relay_lease_seconds: float = Field(default=30.0, gt=0, le=3600, validate_default=True)
    relay_max_attempts: int = Field(default=20, ge=1, le=1000)
    relay_backoff_initial_seconds: float = Field(default=0.5, gt=0, le=3600)
    relay_backoff_max_seconds: float = Field(default=300.0, gt=0, le=86400)
    # Live feedback (WatchUser): how long and how many updates a user's feed keeps for
    # resuming, the heartbeat and rank-check intervals, and the streams a process serves.
    live_retention_seconds: float = Field(default=600.0, gt=0, le=86400)
    live_max_length: int = Field(default=1000, ge=1, le=100_000)
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    live_rank_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    live_max_streams_per_user: int = Field(default=4, ge=1, le=100)
    live_max_streams: int = Field(default=1000, ge=1, le=100_000)
    # The key page tokens are signed with; empty means a random key per process, so every
    # replica behind one address needs the same value.
    page_token_secret: SecretStr = Field(default=SecretStr(""))

    @field_validator("page_token_secret")
    @classmethod
    def _page_token_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (or unset)")
        return value

    # TLS for the gRPC port; a client CA file makes client certificates required (mutual TLS).
    grpc_tls_cert_file: str = ""
    grpc_tls_key_file: str = Field(default="", validate_default=True)
    grpc_tls_client_ca_file: str = Field(default="", validate_default=True)
    grpc_plaintext: bool = Field(default=False, validate_default=True)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("redis_cluster")
    @classmethod
    def _cluster_url(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not str(info.data.get("redis_url", "")).startswith(("redis://", "rediss://")):
            raise ValueError("a Redis Cluster needs a redis:// or rediss:// URL naming one node")
        return value

    @field_validator("max_grant_amounts", mode="before")
    @classmethod
    def _grants_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError('must be a JSON object, e.g. {"points": 50000}') from exc

    @field_validator("max_grant_amounts")
    @classmethod
    def _max_grants(cls, value: dict[str, int]) -> dict[str, int]:
        kinds = {kind.value for kind in RewardKind}
        for kind, amount in value.items():
            if kind not in kinds:
                raise ValueError(f"{kind!r} is not a reward kind ({', '.join(sorted(kinds))})")
            if not 1 <= amount <= MAX_GRANT_CEILING:
                raise ValueError(f"{kind}: must be between 1 and {MAX_GRANT_CEILING}")
        return value

    @field_validator("grpc_address")
    @classmethod
    def _address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:50051")
        return value

    @field_validator("loyalty_address")
    @classmethod
    def _loyalty_address(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("loyalty_sink") == "grpc" and not value:
            raise ValueError(f"is required when {ENV_PREFIX}LOYALTY_SINK=grpc, e.g. host:port")
        return value

    @field_validator("loyalty_stream")
    @classmethod
    def _loyalty_stream(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("loyalty_sink") == "redis_stream" and not value:
            raise ValueError(f"is required when {ENV_PREFIX}LOYALTY_SINK=redis_stream")
        return value

    @field_validator("loyalty_stream_redis_url")
    @classmethod
    def _loyalty_redis_url(cls, value: str) -> str:
        return cls._redis_url(value) if value else value

    @field_validator("relay_lease_seconds")
    @classmethod
    def _lease(cls, value: float, info: ValidationInfo) -> float:
        # A lease shorter than a delivery call would let a second relay take the batch over.
        timeout = info.data.get("loyalty_timeout_seconds", 0.0)
        if value <= timeout:
            raise ValueError(f"must exceed {ENV_PREFIX}LOYALTY_TIMEOUT_SECONDS ({timeout})")
        return value

    @field_validator("grpc_tls_key_file")
    @classmethod
    def _key_with_cert(cls, value: str, info: ValidationInfo) -> str:
        if bool(value) != bool(info.data.get("grpc_tls_cert_file")):
            raise ValueError(f"must be set together with {ENV_PREFIX}GRPC_TLS_CERT_FILE")
        return value

    @field_validator("grpc_tls_client_ca_file")
    @classmethod
    def _ca_with_cert(cls, value: str, info: ValidationInfo) -> str:
        if value and not info.data.get("grpc_tls_cert_file"):
            raise ValueError(f"needs {ENV_PREFIX}GRPC_TLS_CERT_FILE and _KEY_FILE too")
        return value

    @field_validator("grpc_plaintext")
    @classmethod
    def _plaintext_or_tls(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("grpc_tls_cert_file"):
            raise ValueError(f"must not be true when {ENV_PREFIX}GRPC_TLS_CERT_FILE is set")
        return value

    def require_serving_security(self) -> None:
        """Refuse to serve on an unprotected port or with no way to accept a caller."""
        if not self.grpc_tls_cert_file and not self.grpc_plaintext:
            raise SettingsError(
                f"{ENV_PREFIX}GRPC_TLS_CERT_FILE and {ENV_PREFIX}GRPC_TLS_KEY_FILE: set both to "
                f"serve TLS, or {ENV_PREFIX}GRPC_PLAINTEXT=true to serve plaintext on purpose"
            )
        if not self.can_authenticate():
            raise SettingsError(
                f"{ENV_PREFIX}JWT_HS256_SECRETS, {ENV_PREFIX}JWT_PUBLIC_KEY_FILES, "
                f"{ENV_PREFIX}JWT_JWKS_FILE or {ENV_PREFIX}API_KEYS: set at least one, "
                "or no caller can be authenticated"
            )


def read_file_setting(variable: str, path: str) -> bytes:
    """The bytes of a file a setting names; SettingsError naming the variable if unreadable."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"{ENV_PREFIX}{variable}: cannot read {path}: {exc.strerror}") from exc


S = TypeVar("S", bound=BaseSettings)


def load_settings(kind: type[S]) -> S:
    """Read the environment; raise SettingsError with a one-line message naming the variable."""
    try:
        return kind()  # values come from the environment
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
        where = "".join(f"[{part}]" for part in error["loc"][1:])
        raise SettingsError(f"{name}{where}: {error['msg']}") from exc
