"""Translations between league protos and league definitions, views and results."""

from __future__ import annotations

from service.app.leagues.ports import PastSeason
from service.app.leagues.reads import LeagueView
from service.domain.boards import RankReward
from service.domain.errors import InvalidArgument
from service.domain.leagues import IdleRule, LeagueDefinition, Outcome, Tier, Zone
from service.entrypoints.grpc_api.boards.convert import entries_to_pb
from service.entrypoints.grpc_api.convert import instant_to_pb, reward_to_pb, rewards_from_pb
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leagues_pb2 as pb
from service.protobuf_time import timestamp

DEFAULT_COHORT_SIZE = 30
_IDLE = {
    pb.IDLE_RULE_UNSPECIFIED: IdleRule.STAY,
    pb.IDLE_RULE_STAY: IdleRule.STAY,
    pb.IDLE_RULE_DROP: IdleRule.DROP,
}
_ZONES = {
    Zone.PROMOTION: pb.LEAGUE_ZONE_PROMOTION,
    Zone.SAFE: pb.LEAGUE_ZONE_SAFE,
    Zone.DEMOTION: pb.LEAGUE_ZONE_DEMOTION,
}
_OUTCOMES = {
    Outcome.PROMOTED: pb.SEASON_OUTCOME_PROMOTED,
    Outcome.STAYED: pb.SEASON_OUTCOME_STAYED,
    Outcome.DEMOTED: pb.SEASON_OUTCOME_DEMOTED,
    Outcome.IDLE: pb.SEASON_OUTCOME_IDLE,
}


def _tier_from_pb(message: pb.LeagueTier, i: int) -> Tier:
    field = f"league.tiers[{i}]"
    if message.idle_rule not in _IDLE:
        raise InvalidArgument(f"{field}.idle_rule", "must be set to one of the defined values")
    return Tier(
        tier_id=message.tier_id,
        title=message.title,
        promote_count=message.promote_count,
        demote_count=message.demote_count,
        idle_rule=_IDLE[message.idle_rule],
        rank_rewards=tuple(
            RankReward(
                r.first_rank, r.last_rank, rewards_from_pb(r.rewards, f"{field}.rank_rewards[{j}]")
            )
            for j, r in enumerate(message.rank_rewards)
        ),
        promotion_rewards=rewards_from_pb(message.promotion_rewards, f"{field}.promotion_rewards"),
    )


def league_from_pb(message: pb.League) -> LeagueDefinition:
    return LeagueDefinition(
        league_id=message.league_id,
        title=message.title,
        board_id=message.board_id,
        tiers=tuple(_tier_from_pb(t, i) for i, t in enumerate(message.tiers)),
        cohort_size=message.cohort_size or DEFAULT_COHORT_SIZE,
    )


def tier_to_pb(tier: Tier) -> pb.LeagueTier:
    return pb.LeagueTier(
        tier_id=tier.tier_id,
        title=tier.title,
        promote_count=tier.promote_count,
        demote_count=tier.demote_count,
        idle_rule=pb.IDLE_RULE_DROP if tier.idle_rule is IdleRule.DROP else pb.IDLE_RULE_STAY,
        rank_rewards=[
            board_pb.RankReward(
                first_rank=r.first_rank,
                last_rank=r.last_rank,
                rewards=[reward_to_pb(x) for x in r.rewards],
            )
            for r in tier.rank_rewards
        ],
        promotion_rewards=[reward_to_pb(r) for r in tier.promotion_rewards],
    )


def league_to_pb(league: LeagueDefinition) -> pb.League:
    return pb.League(
        league_id=league.league_id,
        title=league.title,
        board_id=league.board_id,
        tiers=[tier_to_pb(t) for t in league.tiers],
        cohort_size=league.cohort_size,
        version=league.version,
        created_at=timestamp(league.created_at) if league.created_at else None,
    )


def view_to_pb(view: LeagueView) -> pb.GetLeagueResponse:
    return pb.GetLeagueResponse(
        league_id=view.league.league_id,
        tier=tier_to_pb(view.tier),
        tier_index=view.league.tier_index(view.tier.tier_id),
        period_id=view.period.period_id,
        season_starts_at=instant_to_pb(view.period.start),
        season_ends_at=instant_to_pb(view.period.end),
        seconds_left=view.seconds_left,
        cohort_id=view.cohort,
        standings=entries_to_pb(view.entries),
        rank=view.rank,
        score=view.score,
        zone=_ZONES[view.zone] if view.zone else pb.LEAGUE_ZONE_UNSPECIFIED,
    )


def season_to_pb(season: PastSeason) -> pb.LeagueSeason:
    result = season.result
    return pb.LeagueSeason(
        period_id=season.period_id,
        season_starts_at=timestamp(season.period_start),
        tier_id=result.tier_id,
        cohort_id=result.cohort,
        rank=result.rank,
        score=result.score,
        outcome=_OUTCOMES[result.outcome],
        next_tier_id=result.next_tier_id,
        rewards=[reward_to_pb(r) for r in result.rewards],
    )
