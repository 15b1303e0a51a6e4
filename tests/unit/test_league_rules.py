"""League rules without I/O: validation of definitions, zones, outcomes and their grants."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.boards import RankReward
from service.domain.errors import InvalidArgument
from service.domain.leagues import (
    IdleRule,
    LeagueDefinition,
    Outcome,
    Tier,
    Zone,
    check_tiers_kept,
    cohort_results,
    idle_result,
    season_grants,
    zone_of,
)
from service.domain.rewards import Reward, RewardKind

POINTS = Reward(RewardKind.POINTS, 50)
LEAGUE = LeagueDefinition(
    "weekly", "Weekly", "league-xp", cohort_size=10, version=3,
    tiers=(
        Tier("bronze", "Bronze", promote_count=3, rank_rewards=(RankReward(1, 1, (POINTS,)),),
             promotion_rewards=(POINTS,)),
        Tier("silver", "Silver", promote_count=2, demote_count=2, idle_rule=IdleRule.DROP),
        Tier("gold", "Gold", demote_count=3, idle_rule=IdleRule.DROP),
    ),
)  # fmt: skip


def _tier(i: int, **changes: object) -> LeagueDefinition:
    tiers = list(LEAGUE.tiers)
    tiers[i] = dataclasses.replace(tiers[i], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(LEAGUE, tiers=tuple(tiers))


@pytest.mark.parametrize(
    ("league", "message"),
    [
        (dataclasses.replace(LEAGUE, league_id="Weekly!"), "league.league_id: must be 1 to 32"),
        (dataclasses.replace(LEAGUE, cohort_size=1), "league.cohort_size: must be between 2"),
        (dataclasses.replace(LEAGUE, tiers=()), "league.tiers: must have 1 to 20 tiers"),
        (_tier(2, promote_count=1), "league.tiers[2].promote_count: must be 0: no tier is above"),
        (_tier(0, demote_count=1), "league.tiers[0].demote_count: must be 0: no tier is below"),
        (_tier(1, promote_count=11), "league.tiers[1].promote_count: must be between 0 and"),
        (_tier(1, promote_count=6, demote_count=5), "league.tiers[1]: promote_count + demote"),
        (_tier(1, tier_id="bronze"), "league.tiers[1].tier_id: must be unique"),
        (_tier(1, tier_id="much-too-long-id"), "league.tiers[1].tier_id: must be 1 to 12"),
        (_tier(2, promotion_rewards=(POINTS,)), "league.tiers[2].promotion_rewards: need a"),
        (
            _tier(0, rank_rewards=(RankReward(2, 1, (POINTS,)),)),
            "league.tiers[0].rank_rewards[0]: needs 1 <= first_rank",
        ),
        (
            _tier(0, promotion_rewards=(Reward(RewardKind.POINTS, 0),)),
            "league.tiers[0].promotion_rewards[0].amount",
        ),
    ],
)
def test_a_bad_definition_names_its_field(league: LeagueDefinition, message: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        league.validate()
    assert str(refused.value).startswith(message)


def test_tiers_may_only_be_added_on_top() -> None:
    more = dataclasses.replace(LEAGUE, tiers=(*LEAGUE.tiers, Tier("diamond", "Diamond")))
    fewer = dataclasses.replace(LEAGUE, tiers=LEAGUE.tiers[1:])

    assert check_tiers_kept(LEAGUE, more) is None
    assert check_tiers_kept(LEAGUE, fewer) is not None
    assert check_tiers_kept(LEAGUE, dataclasses.replace(LEAGUE, board_id="other")) is not None


def test_zones_with_ties_at_the_edges_and_small_cohorts() -> None:
    assert [zone_of(LEAGUE, "silver", r, 10) for r in (1, 2, 3, 8, 9, 10)] == [
        Zone.PROMOTION, Zone.PROMOTION, Zone.SAFE, Zone.SAFE, Zone.DEMOTION, Zone.DEMOTION,
    ]  # fmt: skip
    # Three members: two promote, and the third is not demoted into the promotion zone's
    # place; a lone member in Gold is not last.
    assert zone_of(LEAGUE, "silver", 3, 3) is Zone.DEMOTION
    assert zone_of(LEAGUE, "silver", 2, 3) is Zone.PROMOTION
    assert zone_of(LEAGUE, "gold", 1, 1) is Zone.SAFE
    assert zone_of(LEAGUE, "bronze", 10, 10) is Zone.SAFE  # nothing below Bronze


def test_outcomes_move_one_step_and_carry_their_rewards() -> None:
    ranked = [(1, "a", 90), (2, "b", 80), (3, "c", 70), (4, "d", 60)]
    results = cohort_results(LEAGUE, "bronze", "bronze-1", ranked)

    assert [(r.user_id, r.outcome, r.next_tier_id) for r in results] == [
        ("a", Outcome.PROMOTED, "silver"), ("b", Outcome.PROMOTED, "silver"),
        ("c", Outcome.PROMOTED, "silver"), ("d", Outcome.STAYED, "bronze"),
    ]  # fmt: skip
    assert [len(r.rewards) for r in results] == [2, 1, 1, 0]
    grants = season_grants(LEAGUE, "w2026-03-16", results)
    assert [g.idempotency_key for g in grants[:2]] == [
        "league:weekly:w2026-03-16:a:reward:0",
        "league:weekly:w2026-03-16:a:reward:1",
    ]
    assert {(g.cause_kind, g.cause_ref, g.definition_version) for g in grants} == {
        ("league_season", "league:weekly:w2026-03-16:bronze-1", 3)
    }


def test_idle_members_follow_their_tiers_rule_and_never_leave_the_bottom() -> None:
    assert idle_result(LEAGUE, "a", "gold").next_tier_id == "silver"
    assert idle_result(LEAGUE, "a", "silver").next_tier_id == "bronze"
    assert idle_result(_tier(0, idle_rule=IdleRule.DROP), "a", "bronze").next_tier_id == "bronze"
    assert idle_result(LEAGUE, "a", "bronze").outcome is Outcome.IDLE
