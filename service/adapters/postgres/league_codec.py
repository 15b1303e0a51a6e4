"""League definitions and results to and from the JSON documents stored with them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from service.adapters.postgres.codec import reward_from_json, reward_to_json
from service.domain.boards import RankReward
from service.domain.leagues import IdleRule, LeagueDefinition, Tier
from service.domain.rewards import Reward


def _rank_rewards_to_json(rewards: Sequence[RankReward]) -> list[dict[str, Any]]:
    return [
        {
            "first_rank": r.first_rank,
            "last_rank": r.last_rank,
            "rewards": [reward_to_json(x) for x in r.rewards],
        }
        for r in rewards
    ]


def _tier_to_json(tier: Tier) -> dict[str, Any]:
    return {
        "tier_id": tier.tier_id,
        "title": tier.title,
        "promote_count": tier.promote_count,
        "demote_count": tier.demote_count,
        "idle_rule": str(tier.idle_rule),
        "rank_rewards": _rank_rewards_to_json(tier.rank_rewards),
        "promotion_rewards": rewards_to_json(tier.promotion_rewards),
    }


def _tier_from_json(doc: Mapping[str, Any]) -> Tier:
    return Tier(
        tier_id=doc["tier_id"],
        title=doc["title"],
        promote_count=doc["promote_count"],
        demote_count=doc["demote_count"],
        idle_rule=IdleRule(doc["idle_rule"]),
        rank_rewards=tuple(
            RankReward(r["first_rank"], r["last_rank"], rewards_from_json(r["rewards"]))
            for r in doc["rank_rewards"]
        ),
        promotion_rewards=rewards_from_json(doc["promotion_rewards"]),
    )


def rewards_to_json(rewards: Sequence[Reward]) -> list[dict[str, Any]]:
    return [reward_to_json(r) for r in rewards]


def rewards_from_json(docs: Sequence[Mapping[str, Any]]) -> tuple[Reward, ...]:
    return tuple(reward_from_json(r) for r in docs)


def league_to_json(league: LeagueDefinition) -> dict[str, Any]:
    """The definition's rules; id, version and creation time live in their own columns."""
    return {
        "title": league.title,
        "board_id": league.board_id,
        "cohort_size": league.cohort_size,
        "tiers": [_tier_to_json(t) for t in league.tiers],
    }


def league_from_row(row: Mapping[Any, Any]) -> LeagueDefinition:
    doc = row["config"]
    return LeagueDefinition(
        league_id=row["league_id"],
        title=doc["title"],
        board_id=doc["board_id"],
        cohort_size=doc["cohort_size"],
        tiers=tuple(_tier_from_json(t) for t in doc["tiers"]),
        version=row["version"],
        created_at=row["created_at"],
    )
