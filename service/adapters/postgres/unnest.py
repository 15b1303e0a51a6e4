"""Set-wise writes: many rows in one statement, one array parameter per column."""

from __future__ import annotations

from collections.abc import Sequence

# A column's name and its Postgres type, which its array parameter is cast to.
Columns = Sequence[tuple[str, str]]


def insert_unnest(table: str, columns: Columns, first: int, *, key: int, touch: bool) -> str:
    """Insert one row per array element from parameters $first...; with `key` leading key
    columns, an existing row takes the other columns' new values."""
    names = ", ".join(name for name, _ in columns)
    rows = f"select * from unnest({params(columns, first)}) as u({names})"
    insert = f"insert into {table} ({names}) {rows}"
    if not key:
        return insert
    sets = [f"{name} = excluded.{name}" for name, _ in columns[key:]]
    sets += ["updated_at = now()"] if touch else []
    conflict = ", ".join(name for name, _ in columns[:key])
    return f"{insert} on conflict ({conflict}) do update set {', '.join(sets)}"


def params(columns: Columns, first: int) -> str:
    """The typed array parameters $first... of `columns`, for an unnest."""
    return ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(columns, first))


def arrays(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as one list per column: the parameters of an unnest."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width
