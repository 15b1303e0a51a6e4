"""The outbox as relays work it on Postgres: lease-based claims and settlements.

Per-user order: a claim takes whole users, never single rows. It locks the *head* of each
user's queue (the oldest pending grant) with FOR UPDATE SKIP LOCKED, skipping users whose
head another relay is claiming right now or whose head is not available (leased to a relay,
or waiting out a retry backoff); then it leases a prefix, in id order, of those users'
pending grants. Every write keeps one invariant: the grants of a user in flight are a prefix
of its pending grants, so an available head means nothing of that user is in flight. Hence
two relays never hold grants of one user at once, and no grant is delivered before an older
pending grant of its user. A dead-lettered grant stops holding its user back.

The claim is shaped (correlated subqueries, materialized CTEs, an id array) and planned (see
_CLAIM_PLAN) so that Postgres walks the indexes and stops early, statistics or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.rows import grant_from_row
from service.domain.grant_delivery import OutboxGrant, Settlement

_CLAIM = sa.text("""
WITH heads AS MATERIALIZED (
    SELECT o.user_id
    FROM grant_outbox AS o
    WHERE o.status = 'pending'
      AND o.available_at <= now()
      AND o.id = (
          SELECT min(e.id) FROM grant_outbox AS e
          WHERE e.status = 'pending' AND e.user_id = o.user_id
      )
    ORDER BY o.id
    LIMIT :limit
    FOR UPDATE OF o SKIP LOCKED
), batch AS MATERIALIZED (
    SELECT g.id
    FROM heads CROSS JOIN LATERAL (
        SELECT e.id FROM grant_outbox AS e
        WHERE e.status = 'pending' AND e.user_id = heads.user_id
        ORDER BY e.id
        LIMIT :limit
    ) AS g
    ORDER BY g.id
    LIMIT :limit
)
UPDATE grant_outbox AS t
SET lease_owner = :owner,
    attempts = t.attempts + 1,
    available_at = now() + make_interval(secs => :lease_seconds)
WHERE t.id = ANY(ARRAY(SELECT id FROM batch)) AND t.status = 'pending'
RETURNING t.id, t.idempotency_key, t.user_id, t.kind, t.amount, t.item_code, t.reason,
          t.cause_kind, t.cause_ref, t.definition_version, t.status, t.attempts, t.last_error,
          t.created_at, t.delivered_at, t.available_at, t.valid_days, t.expires_at,
          true AS in_flight
""")

# For this transaction only. The planner cannot know that the head scan stops at LIMIT (it
# guesses that few rows pass the head test), so left alone it scans and sorts every pending
# grant, and JIT-compiles the statement for longer than it runs. Walking the pending index
# in id order is right whatever the statistics say.
_CLAIM_PLAN = sa.text(
    "SELECT set_config('jit', 'off', true), set_config('enable_sort', 'off', true),"
    " set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
)

# An acknowledged grant is delivered whoever holds its lease now.
_DELIVERED = sa.text("""
UPDATE grant_outbox
SET status = 'delivered', delivered_at = now(), lease_owner = NULL
WHERE id = ANY(CAST(:ids AS bigint[])) AND status <> 'delivered'
""")

# Failures touch only grants still leased to the relay that tried them.
_RETRY = sa.text("""
UPDATE grant_outbox AS t
SET lease_owner = NULL, last_error = v.error,
    available_at = now() + make_interval(secs => v.delay)
FROM unnest(CAST(:ids AS bigint[]), CAST(:delays AS float8[]), CAST(:errors AS text[]))
     AS v(id, delay, error)
WHERE t.id = v.id AND t.lease_owner = :owner AND t.status = 'pending'
""")

_DEAD = sa.text("""
UPDATE grant_outbox AS t
SET status = 'dead', lease_owner = NULL, last_error = v.error
FROM unnest(CAST(:ids AS bigint[]), CAST(:errors AS text[])) AS v(id, error)
WHERE t.id = v.id AND t.lease_owner = :owner AND t.status = 'pending'
""")


class PostgresOutboxQueue:
    """Implements the OutboxQueue port; each call is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[OutboxGrant]:
        params = {"owner": owner, "limit": limit, "lease_seconds": float(lease_seconds)}
        async with self._engine.begin() as conn:
            await conn.execute(_CLAIM_PLAN)
            rows = (await conn.execute(_CLAIM, params)).mappings().all()
        return sorted((grant_from_row(row) for row in rows), key=lambda g: g.id)

    async def settle(self, owner: str, settlement: Settlement) -> None:
        async with self._engine.begin() as conn:
            if settlement.delivered:
                await conn.execute(_DELIVERED, {"ids": list(settlement.delivered)})
            if settlement.retry:
                retry = settlement.retry
                await conn.execute(
                    _RETRY,
                    {
                        "owner": owner,
                        "ids": [r.id for r in retry],
                        "delays": [r.delay_seconds for r in retry],
                        "errors": [r.error for r in retry],
                    },
                )
            if settlement.dead:
                await conn.execute(_DEAD, _dead_params(owner, settlement.dead))


def _dead_params(owner: str, dead: Sequence[tuple[int, str]]) -> dict[str, object]:
    return {"owner": owner, "ids": [i for i, _ in dead], "errors": [e for _, e in dead]}
