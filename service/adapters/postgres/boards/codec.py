"""Board definitions to and from the JSON documents stored per version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.adapters.postgres import documents
from service.domain.boards import BoardDefinition

# Stored in columns of their own.
_COLUMNS = ("board_id", "version", "created_at")


def board_to_json(board: BoardDefinition) -> dict[str, Any]:
    """The definition's rules; id, version and creation time live in their own columns."""
    return documents.to_document(board, _COLUMNS)


def board_from_row(row: Mapping[Any, Any]) -> BoardDefinition:
    board: BoardDefinition = documents.from_document(
        BoardDefinition, row["config"], **{name: row[name] for name in _COLUMNS}
    )
    return board
