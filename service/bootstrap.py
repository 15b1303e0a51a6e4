"""The composition root: the only place engines, clients and settings are built."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.ports import Clock, UnitOfWork
from service.clock import SystemClock
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class App:
    """Built dependencies, handed to the entrypoints."""

    settings: Settings
    engine: AsyncEngine
    redis: redis.Redis
    clock: Clock

    def uow(self) -> UnitOfWork:
        return PostgresUnitOfWork(self.engine)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


def build_engine(settings: Settings) -> AsyncEngine:
    """An asyncpg-backed engine that notices dead connections and fails fast when down."""
    timeout = settings.db_timeout_seconds
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=timeout,
        connect_args={"timeout": timeout, "command_timeout": timeout},
    )


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Build every dependency without connecting; connections open on first use."""
    timeout = settings.redis_timeout_seconds
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
    return App(settings, build_engine(settings), client, clock or SystemClock())
