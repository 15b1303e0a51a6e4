"""Rules engine definitions and effects to and from the JSON documents stored in Postgres."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.adapters.postgres import documents
from service.domain.rewards import Reward
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.definitions import BadgeDefinition, LevelTable, TaskDefinition
from service.domain.rules.modifiers import BoostDefinition, CapDefinition
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import Effects

DEFINITION_TYPES: Mapping[DefinitionKind, type[Definition]] = {
    cls.KIND: cls
    for cls in (TaskDefinition, BadgeDefinition, LevelTable, BoostDefinition, CapDefinition)
}
# Stored in columns of their own: a version's config never changes once written.
_COLUMNS = frozenset({"version", "archived", "created_at"})


def definition_to_json(definition: Definition) -> str:
    """The definition's rules as JSON text; version, archived and creation time excluded."""
    return documents.to_json(definition, _COLUMNS)


def definition_from_row(row: Mapping[str, Any]) -> Definition:
    """A definition from a row of kind, version, archived, created_at and config."""
    kind = DEFINITION_TYPES[DefinitionKind(row["kind"])]
    definition: Definition = documents.from_document(
        kind, row["config"], **{name: row[name] for name in _COLUMNS}
    )
    return definition


def effects_to_json(effects: Effects) -> str:
    return documents.to_json(effects)


def effects_from_json(doc: object) -> Effects:
    effects: Effects = documents.from_document(Effects, doc)
    return effects


def rewards_to_json(rewards: tuple[Reward, ...]) -> str:
    return documents.adapter(tuple[Reward, ...]).dump_json(rewards).decode()


def rewards_from_json(doc: object) -> tuple[Reward, ...]:
    rewards: tuple[Reward, ...] = documents.from_document(tuple[Reward, ...], doc)
    return rewards
