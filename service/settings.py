"""The one settings object, read from ENGAGEMENT_* environment variables."""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ENGAGEMENT_"


class SettingsError(Exception):
    """A missing or invalid setting; the message names the variable."""


class Settings(BaseSettings):
    """Everything the composition root needs to build the service."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    database_url: str = Field(description="postgresql:// URL of the source-of-truth database")
    redis_url: str = Field(description="redis://, rediss:// or unix:// URL")
    grpc_address: str = "127.0.0.1:50051"
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=300)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    redis_key_prefix: str = Field(default="eng", min_length=1, max_length=64)
    health_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        for scheme in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if value.startswith(scheme):
                return "postgresql+asyncpg://" + value.removeprefix(scheme)
        raise ValueError("must start with postgresql://")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("grpc_address")
    @classmethod
    def _address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:50051")
        return value


def load_settings() -> Settings:
    """Read the environment; raise SettingsError with a one-line message naming the variable."""
    try:
        return Settings()  # values come from the environment
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
        raise SettingsError(f"{name}: {error['msg']}") from exc
