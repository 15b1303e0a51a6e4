"""Board definitions to and from the JSON documents stored per version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from service.adapters.postgres.codec import reward_from_json, reward_to_json
from service.domain.boards import (
    Aggregation,
    BoardDefinition,
    PeriodKind,
    RankReward,
    SortOrder,
    TiePolicy,
)


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def board_to_json(board: BoardDefinition) -> dict[str, Any]:
    """The definition's rules; id, version and creation time live in their own columns."""
    return {
        "title": board.title,
        "sort_order": str(board.sort_order),
        "aggregation": str(board.aggregation),
        "tie_policy": str(board.tie_policy),
        "period": str(board.period),
        "timezone": board.timezone,
        "week_start": board.week_start,
        "season_start": board.season_start.isoformat() if board.season_start else None,
        "season_end": board.season_end.isoformat() if board.season_end else None,
        "retention_periods": board.retention_periods,
        "source_event_types": list(board.source_event_types),
        "rookie_days": board.rookie_days,
        "partition_attribute": board.partition_attribute,
        "rewards": [
            {
                "first_rank": tier.first_rank,
                "last_rank": tier.last_rank,
                "rewards": [reward_to_json(r) for r in tier.rewards],
            }
            for tier in board.rewards
        ],
        "finalize_grace_seconds": board.finalize_grace_seconds,
    }


def board_from_row(row: Mapping[Any, Any]) -> BoardDefinition:
    doc = row["config"]
    return BoardDefinition(
        board_id=row["board_id"],
        title=doc["title"],
        sort_order=SortOrder(doc["sort_order"]),
        aggregation=Aggregation(doc["aggregation"]),
        tie_policy=TiePolicy(doc["tie_policy"]),
        period=PeriodKind(doc["period"]),
        timezone=doc["timezone"],
        week_start=doc["week_start"],
        season_start=_instant(doc["season_start"]),
        season_end=_instant(doc["season_end"]),
        retention_periods=doc["retention_periods"],
        source_event_types=tuple(doc["source_event_types"]),
        rookie_days=doc["rookie_days"],
        partition_attribute=doc["partition_attribute"],
        rewards=tuple(
            RankReward(
                tier["first_rank"],
                tier["last_rank"],
                tuple(reward_from_json(r) for r in tier["rewards"]),
            )
            for tier in doc["rewards"]
        ),
        finalize_grace_seconds=doc["finalize_grace_seconds"],
        version=row["version"],
        created_at=row["created_at"],
    )
