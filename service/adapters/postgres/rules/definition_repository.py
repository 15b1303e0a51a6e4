"""Postgres implementation of the rules engine's definition port: versions of every kind."""

from __future__ import annotations

import dataclasses

from service.adapters.postgres import documents
from service.adapters.postgres.driver import Driver
from service.adapters.postgres.rules import codec as rule_codec
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.ruleset import Definition

# Prebuilt SQL run on the driver, which prepares each text once per connection.
_DEFINITION_COLUMNS = "kind, definition_id, version, config, archived, created_at"
_ALL_CURRENT = f"""
    select distinct on (kind, definition_id) {_DEFINITION_COLUMNS} from rule_definitions
    order by kind, definition_id, version desc
"""
_LIST = f"""
    select distinct on (definition_id) {_DEFINITION_COLUMNS} from rule_definitions
    where kind = $1 order by definition_id, version desc
"""
_GET = f"""
    select {_DEFINITION_COLUMNS} from rule_definitions
    where kind = $1 and definition_id = $2 order by version desc limit 1
"""
_LOCK_ID = "select pg_advisory_xact_lock(hashtext($1))"
_ADD = """
    insert into rule_definitions (kind, definition_id, version, config, archived)
    select $1::text, $2::text, coalesce(max(version), 0) + 1, $3::jsonb, $4::boolean
    from rule_definitions where kind = $1::text and definition_id = $2::text
    returning version, created_at
"""


class PostgresDefinitions:
    """Versions of every definition kind; the newest version of an id is the current one."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    async def all_current(self) -> list[Definition]:
        rows = await self._driver.fetch(_ALL_CURRENT)
        return [rule_codec.definition_from_row(row) for row in rows]

    async def get(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        row = await self._driver.fetchrow(_GET, str(kind), definition_id)
        return rule_codec.definition_from_row(row) if row else None

    async def add(self, definition: Definition) -> Definition:
        kind, definition_id = str(definition.KIND), definition.definition_id
        # Versions of one id are serialised; other ids are not blocked. The lock is taken
        # in a statement of its own so that the insert's snapshot sees the previous holder's
        # committed version.
        await self._driver.execute(_LOCK_ID, f"rule:{kind}:{definition_id}")
        config = rule_codec.definition_to_json(definition)
        row = await self._driver.fetchrow(_ADD, kind, definition_id, config, definition.archived)
        assert row is not None
        # As get() will read it back: instants on UTC.
        stored = dataclasses.replace(
            definition, version=row["version"], created_at=row["created_at"]
        )
        return documents.in_utc(stored)

    async def archive(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        # Read under the lock add() takes (advisory locks are re-entrant): a version stored
        # meanwhile is the one archived, never lost.
        await self._driver.execute(_LOCK_ID, f"rule:{kind}:{definition_id}")
        current = await self.get(kind, definition_id)
        if current is None or current.archived:
            return current
        return await self.add(dataclasses.replace(current, archived=True))

    # Last: the method's name shadows the builtin for the annotations below it.
    async def list(self, kind: DefinitionKind) -> list[Definition]:
        rows = await self._driver.fetch(_LIST, str(kind))
        return [rule_codec.definition_from_row(row) for row in rows]
