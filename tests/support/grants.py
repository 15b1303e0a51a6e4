"""Helpers for grant delivery tests: queue grants, build relays, wait for conditions."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.loyalty.grpc_sink import GrpcLoyaltySink
from service.adapters.outbox.backoff import BackoffPolicy
from service.adapters.outbox.queue import PostgresOutboxQueue
from service.adapters.outbox.relay import Relay, RelayPolicy
from service.adapters.postgres.tables import grant_outbox
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.domain.rewards import Grant, Reward, RewardKind

# Fast enough for tests, still exponential with jitter.
FAST_BACKOFF = BackoffPolicy(initial_seconds=0.02, max_seconds=0.25)


def make_grant(user_id: str, n: int, kind: RewardKind = RewardKind.POINTS) -> Grant:
    """The n-th grant of a user; its key sorts users' grants in the order they were made."""
    item_code = "chest" if kind in (RewardKind.COUPON, RewardKind.ITEM) else ""
    return Grant(
        idempotency_key=f"test:{user_id}:{n:06d}",
        user_id=user_id,
        reward=Reward(kind, n + 1, item_code),
        reason=f"test grant {n}",
        cause_kind="test",
        cause_ref=f"test:{user_id}:{n}",
        definition_version=1,
    )


async def queue_grants(engine: AsyncEngine, grants: Sequence[Grant]) -> None:
    """Write grants to the outbox in one transaction, as a check-in does."""
    uow = PostgresUnitOfWork(engine)
    async with uow:
        await uow.outbox.add(grants)
        await uow.commit()


async def status_counts(engine: AsyncEngine) -> dict[str, int]:
    stmt = sa.select(grant_outbox.c.status, sa.func.count()).group_by(grant_outbox.c.status)
    async with engine.connect() as conn:
        return {str(row[0]): int(row[1]) for row in (await conn.execute(stmt)).all()}


def grpc_relay(
    engine: AsyncEngine,
    address: str,
    *,
    timeout: float = 2.0,
    batch_size: int = 50,
    concurrency: int = 1,
    max_attempts: int = 1000,
) -> Relay:
    """A relay from the outbox behind `engine` to the loyalty.v1 server at `address`."""
    policy = RelayPolicy(
        batch_size=batch_size,
        lease_seconds=timeout + 1,
        max_attempts=max_attempts,
        poll_interval_seconds=0.02,
        concurrency=concurrency,
        backoff=FAST_BACKOFF,
    )
    return Relay(PostgresOutboxQueue(engine), GrpcLoyaltySink(address, timeout), policy)


def assert_user_order(order_by_user: dict[str, list[str]]) -> None:
    """Every user's grants took effect in the order they were made (keys sort that way)."""
    for user_id, keys in order_by_user.items():
        assert keys == sorted(keys), f"grants of {user_id} out of order: {keys}"
