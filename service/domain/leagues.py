"""Leagues: tiers of cohorts on a periodic board, and who moves up or down at a season's end."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.boards import MAX_RANK_REWARDED, RankReward
from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward
from service.domain.validation import check_id

MIN_COHORT_SIZE = 2
MAX_COHORT_SIZE = 1000
MAX_TIERS = 20
_LEAGUE_ID = re.compile(r"[a-z0-9_-]{1,32}")
# Short enough that "<tier>-<cohort number>" fits a board partition (24 characters).
_TIER_ID = re.compile(r"[a-z0-9_]{1,12}")


class IdleRule(enum.StrEnum):
    """What happens at a season's end to a member of the tier who did not play in it."""

    STAY = "stay"
    DROP = "drop"


class Outcome(enum.StrEnum):
    PROMOTED = "promoted"
    STAYED = "stayed"
    DEMOTED = "demoted"
    # Not placed in the season (or placed without a score): the tier's idle rule applies.
    IDLE = "idle"


class Zone(enum.StrEnum):
    PROMOTION = "promotion"
    SAFE = "safe"
    DEMOTION = "demotion"


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier; its cohorts' top `promote_count` move up, bottom `demote_count` move down."""

    tier_id: str
    title: str
    promote_count: int = 0
    demote_count: int = 0
    idle_rule: IdleRule = IdleRule.STAY
    # By rank within the cohort at the season's end.
    rank_rewards: tuple[RankReward, ...] = ()
    # To every member of the tier's cohorts promoted at the season's end.
    promotion_rewards: tuple[Reward, ...] = ()

    def rewards_for(self, rank: int) -> tuple[Reward, ...]:
        for tier in self.rank_rewards:
            if tier.first_rank <= rank <= tier.last_rank:
                return tier.rewards
        return ()


@dataclass(frozen=True, slots=True)
class LeagueDefinition:
    """One version of a league: tiers lowest first, on a board whose partitions are cohorts."""

    league_id: str
    title: str
    board_id: str
    tiers: tuple[Tier, ...]
    cohort_size: int = 30
    version: int = 0
    created_at: dt.datetime | None = None

    def validate(self) -> None:
        """Raise InvalidArgument naming the first field that breaks a rule."""
        if not _LEAGUE_ID.fullmatch(self.league_id):
            raise InvalidArgument("league.league_id", "must be 1 to 32 characters of a-z 0-9 _ -")
        if not self.title.strip() or len(self.title) > 200:
            raise InvalidArgument("league.title", "must be 1 to 200 characters, not all blank")
        check_id("league.board_id", self.board_id)
        if not MIN_COHORT_SIZE <= self.cohort_size <= MAX_COHORT_SIZE:
            raise InvalidArgument(
                "league.cohort_size", f"must be between {MIN_COHORT_SIZE} and {MAX_COHORT_SIZE}"
            )
        if not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidArgument("league.tiers", f"must have 1 to {MAX_TIERS} tiers")
        seen: set[str] = set()
        for i, tier in enumerate(self.tiers):
            self._validate_tier(i, tier)
            if tier.tier_id in seen:
                raise InvalidArgument(f"league.tiers[{i}].tier_id", "must be unique")
            seen.add(tier.tier_id)

    def _validate_tier(self, i: int, tier: Tier) -> None:
        field = f"league.tiers[{i}]"
        if not _TIER_ID.fullmatch(tier.tier_id):
            raise InvalidArgument(f"{field}.tier_id", "must be 1 to 12 characters of a-z 0-9 _")
        if not tier.title.strip() or len(tier.title) > 200:
            raise InvalidArgument(f"{field}.title", "must be 1 to 200 characters, not all blank")
        for name, count in (("promote_count", tier.promote_count),
                            ("demote_count", tier.demote_count)):  # fmt: skip
            if not 0 <= count <= self.cohort_size:
                raise InvalidArgument(f"{field}.{name}", "must be between 0 and cohort_size")
        if i == len(self.tiers) - 1 and tier.promote_count:
            raise InvalidArgument(f"{field}.promote_count", "must be 0: no tier is above the top")
        if i == 0 and tier.demote_count:
            raise InvalidArgument(f"{field}.demote_count", "must be 0: no tier is below the bottom")
        if tier.promote_count + tier.demote_count > self.cohort_size:
            raise InvalidArgument(field, "promote_count + demote_count must not exceed cohort_size")
        if tier.promotion_rewards and not tier.promote_count:
            raise InvalidArgument(f"{field}.promotion_rewards", "need a promote_count")
        for j, reward in enumerate(tier.promotion_rewards):
            reward.validate(f"{field}.promotion_rewards[{j}]")
        _validate_rank_rewards(f"{field}.rank_rewards", tier.rank_rewards)

    def tier_index(self, tier_id: str) -> int:
        """The tier's position, lowest 0; an unknown tier (never stored) counts as the lowest."""
        for i, tier in enumerate(self.tiers):
            if tier.tier_id == tier_id:
                return i
        return 0

    def tier(self, tier_id: str) -> Tier:
        return self.tiers[self.tier_index(tier_id)]

    @property
    def entry_tier(self) -> Tier:
        """Where a member starts: the lowest tier."""
        return self.tiers[0]


def _validate_rank_rewards(field: str, rewards: Sequence[RankReward]) -> None:
    taken: set[int] = set()
    for i, tier in enumerate(rewards):
        if not 1 <= tier.first_rank <= tier.last_rank <= MAX_RANK_REWARDED:
            raise InvalidArgument(
                f"{field}[{i}]", f"needs 1 <= first_rank <= last_rank <= {MAX_RANK_REWARDED}"
            )
        ranks = set(range(tier.first_rank, tier.last_rank + 1))
        if ranks & taken:
            raise InvalidArgument(f"{field}[{i}]", "overlaps an earlier rank range")
        taken |= ranks
        for j, reward in enumerate(tier.rewards):
            reward.validate(f"{field}[{i}].rewards[{j}]")


def check_tiers_kept(current: LeagueDefinition, new: LeagueDefinition) -> str | None:
    """Why `new` cannot follow `current`, or None: members hold tiers by id and position."""
    old = [tier.tier_id for tier in current.tiers]
    ids = [tier.tier_id for tier in new.tiers]
    if ids[: len(old)] != old:
        return "tiers may only be added above the existing ones, in the same order"
    if new.board_id != current.board_id:
        return "board_id cannot change; define a new league instead"
    return None


def zone_of(league: LeagueDefinition, tier_id: str, rank: int, ranked: int) -> Zone:
    """The zone of `rank` among `ranked` members with a score in a cohort of the tier.

    Ties at a zone's edge fall the member's way: ranks, not positions, are compared. A
    cohort no larger than its demotion zone demotes no one (a member alone is not last).
    """
    index = league.tier_index(tier_id)
    tier = league.tiers[index]
    if rank <= tier.promote_count:
        return Zone.PROMOTION
    demoting = index > 0 and ranked > tier.demote_count
    if demoting and rank > max(ranked - tier.demote_count, tier.promote_count):
        return Zone.DEMOTION
    return Zone.SAFE


@dataclass(frozen=True, slots=True)
class Result:
    """One member's season: where they played and where they go next."""

    user_id: str
    tier_id: str
    cohort: str
    rank: int
    score: int
    outcome: Outcome
    next_tier_id: str
    rewards: tuple[Reward, ...] = ()


def cohort_results(
    league: LeagueDefinition, tier_id: str, cohort: str, ranked: Sequence[tuple[int, str, int]]
) -> list[Result]:
    """Results of a cohort's members `(rank, user_id, score)` in rank order."""
    index = league.tier_index(tier_id)
    tier = league.tiers[index]
    results = []
    for rank, user_id, score in ranked:
        zone = zone_of(league, tier_id, rank, len(ranked))
        moved = {Zone.PROMOTION: 1, Zone.DEMOTION: -1}.get(zone, 0)
        outcome = {1: Outcome.PROMOTED, -1: Outcome.DEMOTED}.get(moved, Outcome.STAYED)
        rewards = tier.rewards_for(rank)
        if outcome is Outcome.PROMOTED:
            rewards += tier.promotion_rewards
        next_tier = league.tiers[index + moved].tier_id
        results.append(Result(user_id, tier_id, cohort, rank, score, outcome, next_tier, rewards))
    return results


def idle_result(league: LeagueDefinition, user_id: str, tier_id: str, cohort: str = "") -> Result:
    """A member who scored nothing in the season: the tier's idle rule, one step at most."""
    index = league.tier_index(tier_id)
    drop = league.tiers[index].idle_rule is IdleRule.DROP and index > 0
    next_tier = league.tiers[index - 1 if drop else index].tier_id
    return Result(user_id, tier_id, cohort, 0, 0, Outcome.IDLE, next_tier)


def season_cause(league_id: str, period_id: str) -> str:
    return f"league:{league_id}:{period_id}"


def season_grants(
    league: LeagueDefinition, period_id: str, results: Sequence[Result]
) -> list[Grant]:
    """The season's rewards; keys name the league, season and member, so a rerun grants once."""
    cause = season_cause(league.league_id, period_id)
    return [
        Grant(
            idempotency_key=f"{cause}:{result.user_id}:reward:{i}",
            user_id=result.user_id,
            reward=reward,
            reason=f"{result.outcome} with rank {result.rank} in {league.title} "
            f"{league.tier(result.tier_id).title}",
            cause_kind="league_season",
            cause_ref=f"{cause}:{result.cohort}",
            definition_version=league.version,
        )
        for result in results
        for i, reward in enumerate(result.rewards)
    ]
