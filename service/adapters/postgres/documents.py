"""Domain values as the JSON documents stored in Postgres, and back: one way for every kind.

A document holds a dataclass's fields by name (enums by value, instants in ISO 8601); what
has a column of its own (ids, versions, creation times) is left out and given back on
reading. pydantic validates on the way in, so a document that no longer fits fails loudly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(tp: Any) -> TypeAdapter[Any]:
    """The cached pydantic adapter of `tp`."""
    # Built on first use, not at import: each costs tens of milliseconds of CPU.
    found = _ADAPTERS.get(tp)
    if found is None:
        found = _ADAPTERS[tp] = TypeAdapter(tp)
    return found


def to_document(value: object, columns: Iterable[str] = ()) -> dict[str, Any]:
    """`value` as a JSON-ready dict, without the fields stored in `columns`."""
    found: dict[str, Any] = adapter(type(value)).dump_python(
        value, mode="json", exclude=set(columns)
    )
    return found


def to_json(value: object, columns: Iterable[str] = ()) -> str:
    """`value` as JSON text, without the fields stored in `columns`."""
    return adapter(type(value)).dump_json(value, exclude=set(columns)).decode()


def from_document(tp: type[T] | Any, document: object, **columns: Any) -> T:
    """The `tp` a document (a mapping, or JSON text) and its columns describe."""
    if isinstance(document, str | bytes):
        document = json.loads(document)
    doc = {**cast(Mapping[str, Any], document), **columns} if columns else document
    return cast(T, in_utc(adapter(tp).validate_python(doc)))


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
