"""Rules engine definitions and effects to and from the JSON documents stored in Postgres."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

from service.domain.rewards import Reward
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.definitions import BadgeDefinition, LevelTable, TaskDefinition
from service.domain.rules.modifiers import BoostDefinition, CapDefinition
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import Effects

T = TypeVar("T")

DEFINITION_TYPES: Mapping[DefinitionKind, type[Definition]] = {
    cls.KIND: cls
    for cls in (TaskDefinition, BadgeDefinition, LevelTable, BoostDefinition, CapDefinition)
}
# Stored in columns of their own: a version's config never changes once written.
_COLUMNS = frozenset({"version", "archived", "created_at"})


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(tp: Any) -> TypeAdapter[Any]:
    # Built on first use, not at import: each costs tens of milliseconds of CPU.
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
    return adapter


def definition_to_json(definition: Definition) -> str:
    """The definition's rules as JSON text; version, archived and creation time excluded."""
    return _adapter(type(definition)).dump_json(definition, exclude=set(_COLUMNS)).decode()


def definition_from_row(row: Mapping[str, Any]) -> Definition:
    """A definition from a row of kind, version, archived, created_at and config."""
    adapter = _adapter(DEFINITION_TYPES[DefinitionKind(row["kind"])])
    columns = {name: row[name] for name in _COLUMNS}
    definition: Definition = adapter.validate_python({**row["config"], **columns})
    return in_utc(definition)


def effects_to_json(effects: Effects) -> str:
    return _adapter(Effects).dump_json(effects).decode()


def effects_from_json(doc: object) -> Effects:
    effects: Effects = _adapter(Effects).validate_python(doc)
    return in_utc(effects)


def rewards_to_json(rewards: tuple[Reward, ...]) -> str:
    return _adapter(tuple[Reward, ...]).dump_json(rewards).decode()


def rewards_from_json(doc: object) -> tuple[Reward, ...]:
    rewards: tuple[Reward, ...] = _adapter(tuple[Reward, ...]).validate_python(doc)
    return rewards


def in_utc(value: T) -> T:
    """`value` with every aware datetime in it, however deeply nested, on the dt.UTC zone.

    Parsing gives pydantic's own fixed-offset zones (and the offsets the JSON held); the
    domain keeps its instants on dt.UTC, as asyncpg returns them from timestamp columns.
    """
    return cast(T, _in_utc(value))


def _in_utc(value: Any) -> Any:
    # Rebuilds only what holds a datetime off dt.UTC; everything else is returned as is.
    if isinstance(value, dt.datetime):
        off_utc = value.tzinfo is not None and value.tzinfo is not dt.UTC
        return value.astimezone(dt.UTC) if off_utc else value
    if isinstance(value, tuple):
        items = tuple(_in_utc(item) for item in value)
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = _in_utc(old)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
