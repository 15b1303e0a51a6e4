"""The composition root: the only place engines, clients and settings are built."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import leaderboard as lb
from service.adapters.loyalty.grpc_sink import GrpcLoyaltySink
from service.adapters.loyalty.redis_stream_sink import RedisStreamSink
from service.adapters.outbox.store import PostgresGrantStore
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.adapters.postgres.wallet_repository import PostgresWallets
from service.app.boards.definitions import BoardCatalog, load_boards
from service.app.boards.heal import Healer
from service.app.boards.score_writes import ScoreIntake
from service.app.boards.scores import Boards
from service.app.catalog import Catalog
from service.app.check_ins.programs import Programs, get_program
from service.app.goals.contributions import load_goals
from service.app.grants.ports import GrantStore, LoyaltySink
from service.app.leagues.definitions import LeagueCatalog, Leagues, load_leagues
from service.app.live.ports import NO_FEED, Feed
from service.app.live.watch import Live
from service.app.paging import PageTokens
from service.app.ports import Clock, UnitOfWork
from service.app.rules.events import EventIntake
from service.app.rules.outcomes import RARITY_MAX_AGE_SECONDS, Rules, load_rarity, load_rules
from service.app.wallet.ports import Wallets
from service.bootstrap_live import build_feed, build_live
from service.clock import SystemClock
from service.domain.boards import BoardDefinition
from service.domain.check_in import CheckInProgram
from service.domain.rules.limits import Limits
from service.entrypoints.grpc_api.errors import is_unavailable
from service.observability.metrics import Metrics
from service.redis_keys import definitions_channel
from service.settings import DatabaseSettings, Settings

# A single server, or a Redis Cluster (ENGAGEMENT_REDIS_CLUSTER).
RedisClient: TypeAlias = redis.Redis | redis.RedisCluster
PlainRedis: TypeAlias = redis.Redis  # App's field `redis` hides the module in its body


@dataclass(frozen=True, slots=True)
class App:
    """Built dependencies, handed to the entrypoints."""

    settings: Settings
    engine: AsyncEngine
    redis: RedisClient
    clock: Clock
    # The core loyalty system the relay delivers grants to; None when none is configured.
    loyalty: LoyaltySink | None
    boards: Boards
    rules: Rules
    programs: Programs
    # TrackEvent calls, committed in groups.
    events: EventIntake
    # SubmitScore calls, committed in groups.
    scores: ScoreIntake
    # Signs and verifies the page tokens of every list.
    page_tokens: PageTokens
    # Pub/sub (the definitions channel): `redis` itself, or on a cluster, whose async client
    # has no pub/sub, a plain client of the node the URL names (a cluster delivers every
    # message to subscribers on any node).
    pubsub: PlainRedis
    # What the service counts and times; exported when `settings.metrics_address` is set.
    metrics: Metrics
    # WatchUser's reader of users' live feeds (the publisher is `boards.feed`).
    live: Live
    leagues: Leagues

    def uow(self) -> UnitOfWork:
        return PostgresUnitOfWork(self.engine, on_wait=self.metrics.pool_waits.observe)

    def reader(self) -> UnitOfWork:
        """A unit of work for queries: no transaction, so no BEGIN and ROLLBACK round trips."""
        return PostgresUnitOfWork(
            self.engine, transaction=False, on_wait=self.metrics.pool_waits.observe
        )

    def grant_store(self) -> GrantStore:
        return PostgresGrantStore(self.engine)

    def wallets(self) -> Wallets:
        return PostgresWallets(self.engine)

    async def close(self) -> None:
        await self.events.aclose()
        await self.scores.aclose()
        await self.live.close()
        if self.loyalty is not None:
            await self.loyalty.close()
        await self.redis.aclose()
        if self.pubsub is not self.redis:
            await self.pubsub.aclose()
        await self.engine.dispose()


def build_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An asyncpg-backed engine that fails fast when Postgres is down.

    No pre-ping: SQLAlchemy's costs three round trips per checkout. The unit of work treats
    its BEGIN as the ping instead, and SQLAlchemy invalidates the pool on any disconnect it
    sees itself.
    """
    timeout = settings.db_timeout_seconds
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        # Overflow connections are closed when returned: under steady load that is a new
        # connection per call. Callers wait for a pooled one instead.
        max_overflow=0,
        pool_pre_ping=False,
        pool_timeout=timeout,
        connect_args={"timeout": timeout, "command_timeout": timeout},
    )


def build_redis(url: str, settings: Settings, *, cluster: bool = False) -> RedisClient:
    """A client whose pool makes callers wait for a connection instead of failing at 100;
    with `cluster`, a Redis Cluster client that finds every node from the one `url` names."""
    timeout = settings.redis_timeout_seconds
    if cluster:
        return redis.RedisCluster.from_url(
            url,
            max_connections=settings.redis_pool_size,  # per node
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_pool_size,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
    )
    return redis.Redis(connection_pool=pool)


def build_pubsub(client: RedisClient, settings: Settings) -> redis.Redis:
    """The client for pub/sub: `client`, or a plain one of the node a cluster URL names."""
    if isinstance(client, redis.Redis):
        return client
    timeout = settings.redis_timeout_seconds
    return redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=timeout, health_check_interval=30
    )


def _announcer(client: RedisClient, settings: Settings, kind: str) -> Callable[[], Awaitable[None]]:
    """Tells every replica (through the definitions channel) that `kind` changed."""

    async def announce() -> None:
        await client.publish(definitions_channel(settings.redis_key_prefix), kind)

    return announce


def build_boards(
    engine: AsyncEngine,
    client: RedisClient,
    settings: Settings,
    clock: Clock,
    metrics: Metrics,
    feed: Feed = NO_FEED,
) -> Boards:
    """Leaderboards: definitions cached in memory, standings in Redis as copies of Postgres
    that are rebuilt whenever Redis lost them."""

    async def load() -> list[BoardDefinition]:
        return await load_boards(PostgresUnitOfWork(engine))

    catalog = BoardCatalog(load, _announcer(client, settings, "boards"))
    copies = lb.Leaderboards(client, key_prefix=settings.redis_key_prefix, require_loaded=True)
    healer = Healer(lambda: PostgresUnitOfWork(engine))
    return Boards(catalog, copies, clock, healer, metrics.board_seconds_of, feed)


def build_programs(engine: AsyncEngine, client: RedisClient, settings: Settings) -> Programs:
    """The check-in program, cached in memory."""

    async def load() -> CheckInProgram:
        return await get_program(uow=PostgresUnitOfWork(engine))

    return Catalog(load, _announcer(client, settings, "programs"))


def build_rules(
    engine: AsyncEngine, client: RedisClient, settings: Settings, boards: Boards
) -> Rules:
    """The rules engine: definitions cached in memory, state in Postgres."""

    async def no_one() -> None:
        return None

    limits = Limits.of(settings.event_max_value, settings.max_grant_amounts)
    catalog = Catalog(
        lambda: load_rules(PostgresUnitOfWork(engine), limits),
        _announcer(client, settings, "rules"),
    )
    rarity = Catalog(
        lambda: load_rarity(PostgresUnitOfWork(engine)), no_one, max_age=RARITY_MAX_AGE_SECONDS
    )
    goals = Catalog(
        lambda: load_goals(PostgresUnitOfWork(engine), boards.clock, limits),
        _announcer(client, settings, "goals"),
    )
    return Rules(
        catalog,
        boards,
        boards.clock,
        rarity,
        max_event_age=dt.timedelta(seconds=settings.event_max_age_seconds),
        max_event_skew=dt.timedelta(seconds=settings.event_max_skew_seconds),
        goals=goals,
    )


def build_leagues(
    engine: AsyncEngine, client: RedisClient, settings: Settings, boards: Boards
) -> Leagues:
    """Leagues: definitions cached in memory; their cohorts are partitions of boards."""
    catalog = LeagueCatalog(
        lambda: load_leagues(PostgresUnitOfWork(engine)), _announcer(client, settings, "leagues")
    )
    return Leagues(catalog, boards)


def build_loyalty_sink(settings: Settings, client: RedisClient) -> LoyaltySink | None:
    """The configured loyalty sink; a stream on the service's Redis unless it has its own."""
    if settings.loyalty_sink == "grpc":
        return GrpcLoyaltySink(settings.loyalty_address, settings.loyalty_timeout_seconds)
    if settings.loyalty_sink == "redis_stream":
        own_url = settings.loyalty_stream_redis_url
        return RedisStreamSink(
            build_redis(own_url, settings) if own_url else client,
            settings.loyalty_stream,
            timeout_seconds=settings.loyalty_timeout_seconds,
            maxlen=settings.loyalty_stream_maxlen,
            dedup_seconds=settings.loyalty_stream_dedup_seconds,
            owns_client=bool(own_url),
        )
    return None


def build_app(settings: Settings, clock: Clock | None = None) -> App:
    """Build every dependency without connecting; connections open on first use."""
    client = build_redis(settings.redis_url, settings, cluster=settings.redis_cluster)
    sink = build_loyalty_sink(settings, client)
    engine = build_engine(settings)
    clock = clock or SystemClock()
    metrics = Metrics()
    boards = build_boards(engine, client, settings, clock, metrics, build_feed(settings, client))
    leagues = build_leagues(engine, client, settings, boards)
    rules = dataclasses.replace(
        build_rules(engine, client, settings, boards), leagues=leagues.catalog
    )
    intake = EventIntake(
        lambda: PostgresUnitOfWork(engine, on_wait=metrics.pool_waits.observe), rules,
        unavailable=is_unavailable, on_group=metrics.event_group,
    )  # fmt: skip
    scores = ScoreIntake(
        lambda: PostgresUnitOfWork(engine, on_wait=metrics.pool_waits.observe), boards,
        unavailable=is_unavailable, on_group=metrics.score_group,
    )  # fmt: skip
    programs = build_programs(engine, client, settings)
    return App(
        settings, engine, client, clock, loyalty=sink, boards=boards, rules=rules,
        programs=programs, events=intake, scores=scores,
        page_tokens=PageTokens.from_secret(settings.page_token_secret.get_secret_value()),
        pubsub=build_pubsub(client, settings), metrics=metrics, live=build_live(settings),
        leagues=leagues,
    )  # fmt: skip
