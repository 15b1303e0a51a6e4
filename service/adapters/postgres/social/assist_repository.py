"""Postgres implementation of task assists: who helped whose task, and when."""

from __future__ import annotations

import datetime as dt

from service.adapters.postgres.driver import Driver, Row
from service.domain.rules.assists import AssistRecord

_COLUMNS = (
    "assist_id, user_id, helper_id, task_id, task_version, window_id, progress,"
    " idempotency_key, assisted_at, progress_after, target, tiers_reached"
)
_FIND = f"select {_COLUMNS} from task_assists where helper_id = $1 and idempotency_key = $2"
_RECENT = f"""
    select {_COLUMNS} from task_assists where user_id = $1 and task_id = $2
    and (window_id = $3 or (helper_id = $4 and assisted_at >= $5)) order by assist_id
"""
_HOLD = "select pg_advisory_xact_lock(hashtextextended('assist-helper:' || $1, 0))"
_NEXT_ID = "select nextval(pg_get_serial_sequence('task_assists', 'assist_id')) as id"
_ADD = f"""
    insert into task_assists ({_COLUMNS}) overriding system value
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""


def _record(row: Row) -> AssistRecord:
    return AssistRecord(**dict(row))


class PostgresAssists:
    """Assists on the unit of work's asyncpg connection."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def find(self, helper_id: str, idempotency_key: str) -> AssistRecord | None:
        row = await self._driver.fetchrow(_FIND, helper_id, idempotency_key)
        return _record(row) if row else None

    async def hold_helper(self, helper_id: str) -> None:
        await self._driver.execute(_HOLD, helper_id)

    async def recent(
        self, user_id: str, task_id: str, window_id: str, helper_id: str, since: dt.datetime
    ) -> list[AssistRecord]:
        rows = await self._driver.fetch(_RECENT, user_id, task_id, window_id, helper_id, since)
        return [_record(row) for row in rows]

    async def next_id(self) -> int:
        row = await self._driver.fetchrow(_NEXT_ID)
        assert row is not None
        return int(row["id"])

    async def add(self, record: AssistRecord) -> None:
        r = record
        await self._driver.execute(
            _ADD, r.assist_id, r.user_id, r.helper_id, r.task_id, r.task_version, r.window_id,
            r.progress, r.idempotency_key, r.assisted_at, r.progress_after, r.target,
            r.tiers_reached,
        )  # fmt: skip
