"""League definitions and results to and from the JSON documents stored with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.adapters.postgres import documents
from service.domain.leagues import LeagueDefinition
from service.domain.rewards import Reward

# Stored in columns of their own.
_COLUMNS = ("league_id", "version", "created_at")


def rewards_to_json(rewards: Sequence[Reward]) -> list[dict[str, Any]]:
    return [documents.to_document(reward) for reward in rewards]


def rewards_from_json(docs: Sequence[Mapping[str, Any]]) -> tuple[Reward, ...]:
    rewards: tuple[Reward, ...] = documents.from_document(tuple[Reward, ...], docs)
    return rewards


def league_to_json(league: LeagueDefinition) -> dict[str, Any]:
    """The definition's rules; id, version and creation time live in their own columns."""
    return documents.to_document(league, _COLUMNS)


def league_from_row(row: Mapping[Any, Any]) -> LeagueDefinition:
    league: LeagueDefinition = documents.from_document(
        LeagueDefinition, row["config"], **{name: row[name] for name in _COLUMNS}
    )
    return league
