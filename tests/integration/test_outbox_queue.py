"""The Postgres outbox queue: leases, per-user order, retries and settlements on a real server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.adapters.outbox.queue import PostgresOutboxQueue
from service.adapters.outbox.store import PostgresGrantStore
from service.adapters.postgres.audit.repository import PostgresAudit
from service.adapters.postgres.tables import grant_outbox
from service.app.audit import SYSTEM, AuditFilter, Change
from service.app.grants.ports import DeadSelection
from service.domain.grant_delivery import GrantStatus, OutboxGrant, Retry, Settlement
from tests.support.grants import make_grant, queue_grants

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


async def _retry(store: PostgresGrantStore, selection: DeadSelection) -> int:
    def change(moved: int) -> Change:
        return Change("GrantAdminService/RetryDeadGrants", "grants", "dead", details={"n": moved})

    return await store.retry_dead(selection, AT, SYSTEM, change)


pytestmark = pytest.mark.integration


def _keys(batch: Sequence[OutboxGrant]) -> list[str]:
    return [g.grant.idempotency_key for g in batch]


async def _age_backoffs(engine: AsyncEngine) -> None:
    """Let every retry backoff and lease run out, as if time had passed."""
    async with engine.begin() as conn:
        await conn.execute(sa.update(grant_outbox).values(available_at=sa.func.now()))


async def test_a_claim_leases_per_user_prefixes_in_id_order(engine: AsyncEngine) -> None:
    await queue_grants(engine, [make_grant(u, n) for n in range(3) for u in ("a", "b")])
    queue = PostgresOutboxQueue(engine)

    batch = await queue.claim("relay-1", limit=4, lease_seconds=30)

    assert _keys(batch) == ["test:a:000000", "test:b:000000", "test:a:000001", "test:b:000001"]
    assert all(g.attempts == 1 and g.in_flight for g in batch)


async def test_no_grant_of_a_user_is_claimed_while_another_is_in_flight(
    engine: AsyncEngine,
) -> None:
    await queue_grants(engine, [make_grant("a", 0), make_grant("b", 0)])
    queue = PostgresOutboxQueue(engine)
    first = await queue.claim("relay-1", limit=1, lease_seconds=30)
    await queue_grants(engine, [make_grant("a", 1)])

    second = await queue.claim("relay-2", limit=10, lease_seconds=30)

    assert _keys(first) == ["test:a:000000"]
    assert _keys(second) == ["test:b:000000"]


async def test_concurrent_claims_never_share_a_grant_or_a_user(database_url: str) -> None:
    engines = [create_async_engine(database_url) for _ in range(4)]
    try:
        await queue_grants(
            engines[0], [make_grant(f"u{u}", n) for n in range(5) for u in range(40)]
        )
        queues = [PostgresOutboxQueue(e) for e in engines]

        batches = await asyncio.gather(
            *(q.claim(f"relay-{i}", limit=30, lease_seconds=30) for i, q in enumerate(queues))
        )
    finally:
        for e in engines:
            await e.dispose()

    keys = [k for batch in batches for k in _keys(batch)]
    assert len(keys) == len(set(keys))
    owners_of_user: dict[str, set[int]] = {}
    for i, batch in enumerate(batches):
        for g in batch:
            owners_of_user.setdefault(g.grant.user_id, set()).add(i)
    assert all(len(owners) == 1 for owners in owners_of_user.values())


async def test_a_grant_waiting_to_retry_holds_back_its_user_only(engine: AsyncEngine) -> None:
    await queue_grants(engine, [make_grant("a", 0), make_grant("a", 1), make_grant("b", 0)])
    queue = PostgresOutboxQueue(engine)
    batch = await queue.claim("relay-1", limit=1, lease_seconds=30)
    await queue.settle("relay-1", Settlement(retry=(Retry(batch[0].id, 3600, "UNAVAILABLE"),)))

    blocked = await queue.claim("relay-1", limit=10, lease_seconds=30)
    await _age_backoffs(engine)
    await queue.settle("relay-1", Settlement(delivered=tuple(g.id for g in blocked)))
    later = await queue.claim("relay-1", limit=10, lease_seconds=30)

    assert _keys(blocked) == ["test:b:000000"]
    assert _keys(later) == ["test:a:000000", "test:a:000001"]
    assert later[0].attempts == 2


async def test_a_dead_grant_stops_holding_back_its_user(engine: AsyncEngine) -> None:
    await queue_grants(engine, [make_grant("a", 0), make_grant("a", 1)])
    queue = PostgresOutboxQueue(engine)
    batch = await queue.claim("relay-1", limit=1, lease_seconds=30)
    await queue.settle("relay-1", Settlement(dead=((batch[0].id, "rejected: unknown user"),)))

    later = await queue.claim("relay-1", limit=10, lease_seconds=30)

    assert _keys(later) == ["test:a:000001"]
    dead = await PostgresGrantStore(engine).get("test:a:000000")
    assert dead is not None
    assert dead.grant.status is GrantStatus.DEAD
    assert dead.grant.last_error == "rejected: unknown user"


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_undo_it(
    engine: AsyncEngine,
) -> None:
    await queue_grants(engine, [make_grant("a", 0)])
    queue = PostgresOutboxQueue(engine)
    stale = await queue.claim("relay-old", limit=1, lease_seconds=30)
    await _age_backoffs(engine)

    taken = await queue.claim("relay-new", limit=1, lease_seconds=30)
    await queue.settle("relay-old", Settlement(retry=(Retry(stale[0].id, 3600, "late"),)))
    still = await PostgresGrantStore(engine).get("test:a:000000")
    # The old owner's acknowledgement still counts: the sink applied the grant.
    await queue.settle("relay-old", Settlement(delivered=(stale[0].id,)))
    done = await PostgresGrantStore(engine).get("test:a:000000")

    assert _keys(taken) == ["test:a:000000"]
    assert taken[0].attempts == 2
    assert still is not None
    assert still.grant.in_flight
    assert still.grant.last_error == ""
    assert done is not None
    assert done.grant.status is GrantStatus.DELIVERED
    assert done.grant.delivered_at is not None
    assert not done.grant.in_flight


async def test_stats_count_every_state(engine: AsyncEngine) -> None:
    await queue_grants(engine, [make_grant(u, 0) for u in "abcd"])
    queue = PostgresOutboxQueue(engine)
    a, b, c = await queue.claim("relay-1", limit=3, lease_seconds=30)
    await queue.settle("relay-1", Settlement(delivered=(a.id,), dead=((b.id, "no"),)))

    stats = await PostgresGrantStore(engine).stats()

    assert (stats.pending, stats.in_flight, stats.delivered, stats.dead) == (2, 1, 1, 1)
    assert stats.oldest_pending_age_seconds >= 0
    assert c.grant.user_id == "c"


async def test_a_revived_dead_grant_waits_for_its_users_grants_in_flight(
    engine: AsyncEngine,
) -> None:
    await queue_grants(engine, [make_grant("a", 0), make_grant("a", 1)])
    queue, store = PostgresOutboxQueue(engine), PostgresGrantStore(engine)
    first = await queue.claim("relay-1", limit=1, lease_seconds=30)
    await queue.settle("relay-1", Settlement(dead=((first[0].id, "rejected"),)))
    in_flight = await queue.claim("relay-1", limit=10, lease_seconds=30)

    revived = await _retry(store, DeadSelection(grant_ids=("test:a:000000",)))
    while_in_flight = await queue.claim("relay-2", limit=10, lease_seconds=30)
    await queue.settle("relay-1", Settlement(delivered=(in_flight[0].id,)))
    await _age_backoffs(engine)
    after = await queue.claim("relay-2", limit=10, lease_seconds=30)

    assert revived == 1
    assert _keys(in_flight) == ["test:a:000001"]
    assert while_in_flight == []
    assert _keys(after) == ["test:a:000000"]
    assert after[0].attempts == 1


async def test_retrying_dead_grants_selects_by_id_user_or_all(engine: AsyncEngine) -> None:
    await queue_grants(engine, [make_grant(u, n) for u in "ab" for n in range(2)])
    queue, store = PostgresOutboxQueue(engine), PostgresGrantStore(engine)
    batch = await queue.claim("relay-1", limit=10, lease_seconds=30)
    await queue.settle("relay-1", Settlement(dead=tuple((g.id, "no") for g in batch)))

    by_id = await _retry(store, DeadSelection(grant_ids=("test:a:000001", "unknown")))
    by_user = await _retry(store, DeadSelection(user_id="b"))
    rest = await _retry(store, DeadSelection(everything=True))

    assert (by_id, by_user, rest) == (1, 2, 1)
    async with engine.connect() as conn:
        entries = await PostgresAudit(conn).list(AuditFilter(), None, 10)
    assert [e.change.details["n"] for e in entries] == [1, 2, 1]
    assert (await store.stats()).pending == 4
