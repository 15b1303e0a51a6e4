"""Postgres implementation of the rules engine's event port: the record of every event."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence

from service.adapters.postgres.driver import Driver, Row
from service.adapters.postgres.rules import codec as rule_codec
from service.app.rules.ports import EventStatus, StoredEvent
from service.domain.rules.state import Event

REPLAY_BATCH = 1000

_EVENT_COLUMNS = (
    "idempotency_key", "user_id", "type", "value", "attributes", "occurred_at", "received_at",
    "status", "review", "reason", "effects",
)  # fmt: skip
_EVENT_TYPES = (
    "text", "text", "text", "bigint", "jsonb", "timestamptz", "timestamptz", "text", "boolean",
    "text", "jsonb",
)  # fmt: skip
# JSON documents travel as text arrays (asyncpg has no jsonb[] codec) and are cast per row.
_ADD_EVENTS = f"""
    insert into rule_events ({", ".join(_EVENT_COLUMNS)})
    select {", ".join(f"{c}::{t}" for c, t in zip(_EVENT_COLUMNS, _EVENT_TYPES, strict=True))}
    from unnest({
    ", ".join(f"${n}::{'text' if t == 'jsonb' else t}[]" for n, t in enumerate(_EVENT_TYPES, 1))
}) as u({", ".join(_EVENT_COLUMNS)})
    on conflict (idempotency_key) do nothing
    returning idempotency_key
"""
_GET_EVENTS = f"""
    select {", ".join(_EVENT_COLUMNS)} from rule_events where idempotency_key = any($1::text[])
"""
_FLAGGED = f"""
    select id, {", ".join(_EVENT_COLUMNS)} from rule_events
    where review and ($2::bigint is null or id < $2) {{user}}
    order by id desc limit $3
"""
# Two texts rather than `$1 = '' or user_id = $1`, so each plan uses its own index.
_FLAGGED_ALL = _FLAGGED.format(user="and $1 = ''")
_FLAGGED_OF_USER = _FLAGGED.format(user="and user_id = $1")
_LATEST_EVENT = f"""
    select {", ".join(_EVENT_COLUMNS)} from rule_events where user_id = $1 and type = $2
    order by received_at desc, id desc limit 1
"""
# Keyset pages in replay order: each page starts after the last row of the one before, so
# it is one range of the replay index however far the replay has come.
_REPLAY_PAGE = """
    select id, idempotency_key, user_id, type, value, attributes, occurred_at from rule_events
    where status = 'applied' and type = any($1::text[]) and occurred_at >= $2
      and (user_id, occurred_at, id) > ($3::text, $4::timestamptz, $5::bigint)
    order by user_id, occurred_at, id
    limit $6
"""


def _event(row: Row) -> Event:
    return Event(
        idempotency_key=row["idempotency_key"],
        user_id=row["user_id"],
        type=row["type"],
        value=row["value"],
        attributes=row["attributes"],
        occurred_at=row["occurred_at"],
    )


def _stored(row: Row) -> StoredEvent:
    return StoredEvent(
        event=_event(row),
        received_at=row["received_at"],
        status=EventStatus(row["status"]),
        effects=rule_codec.effects_from_json(row["effects"]),
    )


def _event_row(stored: StoredEvent) -> tuple[object, ...]:
    event, effects = stored.event, stored.effects
    return (
        event.idempotency_key, event.user_id, event.type, event.value,
        json.dumps(dict(event.attributes)), event.occurred_at, stored.received_at,
        str(stored.status), stored.status is EventStatus.REJECTED, effects.rejected,
        rule_codec.effects_to_json(effects),
    )  # fmt: skip


class PostgresEvents:
    """Events as received, with what they did; one round trip per call, and per page."""

    def __init__(self, driver: Driver, *, replay_batch: int = REPLAY_BATCH) -> None:
        self._driver = driver
        self.replay_batch = replay_batch

    async def get_many(self, idempotency_keys: Sequence[str]) -> dict[str, StoredEvent]:
        rows = await self._driver.fetch(_GET_EVENTS, list(idempotency_keys))
        return {row["idempotency_key"]: _stored(row) for row in rows}

    async def flagged(
        self, user_id: str, before_id: int | None, limit: int
    ) -> list[tuple[int, StoredEvent]]:
        query = _FLAGGED_OF_USER if user_id else _FLAGGED_ALL
        rows = await self._driver.fetch(query, user_id, before_id, limit)
        return [(row["id"], _stored(row)) for row in rows]

    async def latest(self, user_id: str, event_type: str) -> StoredEvent | None:
        row = await self._driver.fetchrow(_LATEST_EVENT, user_id, event_type)
        return _stored(row) if row else None

    async def add_many(self, stored: Sequence[StoredEvent]) -> set[str]:
        if not stored:
            return set()
        rows = [_event_row(s) for s in stored]
        columns = [list(column) for column in zip(*rows, strict=True)]
        return {r["idempotency_key"] for r in await self._driver.fetch(_ADD_EVENTS, *columns)}

    async def replay(self, event_types: Sequence[str], since: dt.datetime) -> AsyncIterator[Event]:
        """Pages of `replay_batch` events within the caller's transaction; the caller must
        consume them before leaving its unit of work."""
        types = list(event_types)
        # A key before every row the filter admits: ids start at 1, occurred_at >= since.
        after: tuple[str, dt.datetime, int] = ("", since, 0)
        while True:
            rows = await self._driver.fetch(_REPLAY_PAGE, types, since, *after, self.replay_batch)
            for row in rows:
                yield _event(row)
            if len(rows) < self.replay_batch:
                return
            last = rows[-1]
            after = (last["user_id"], last["occurred_at"], last["id"])
