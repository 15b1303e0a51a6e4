"""Team and community goals: a shared count over a window, with milestones for contributors."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward
from service.domain.rules.checks import (
    MAX_LIST,
    MAX_TARGET,
    check_definition_id,
    check_event_type,
    check_rewards,
    check_texts,
)
from service.domain.rules.conditions import Condition, all_hold, validate_conditions
from service.domain.rules.limits import Limits
from service.domain.rules.state import Event

MAX_MILESTONES = 20
MAX_WINDOW = dt.timedelta(days=400)
CAUSE_KIND = "goal_milestone"


class GoalScope(enum.StrEnum):
    # Everyone's events count.
    COMMUNITY = "community"
    # Only the events of the team's members count.
    TEAM = "team"


class MetricKind(enum.StrEnum):
    # Each matching event counts 1.
    EVENT_COUNT = "event_count"
    # Each matching event adds its value; values below 1 add nothing, so totals never fall.
    EVENT_SUM = "event_sum"
    # Each accepted check-in (not a make-up) counts 1.
    CHECK_IN = "check_in"


@dataclass(frozen=True, slots=True)
class GoalMilestone:
    """Reaching `target` in total unlocks `rewards` for every qualifying contributor."""

    target: int
    rewards: tuple[Reward, ...] = ()


@dataclass(frozen=True, slots=True)
class GoalDefinition:
    goal_id: str
    title: str
    metric: MetricKind
    starts_at: dt.datetime
    ends_at: dt.datetime
    milestones: tuple[GoalMilestone, ...]
    scope: GoalScope = GoalScope.COMMUNITY
    team_id: str = ""
    event_types: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    # A contributor earns milestone rewards once their own contribution reaches this.
    min_contribution: int = 1
    description: str = ""
    version: int = 0

    def validate(self) -> None:
        """Raise InvalidArgument naming the first malformed field."""
        check_definition_id("goal_id", self.goal_id)
        check_texts(self.title, self.description)
        self._validate_scope()
        self._validate_metric()
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidArgument("starts_at", "must be an instant with a timezone")
        if self.ends_at <= self.starts_at:
            raise InvalidArgument("ends_at", "must be later than starts_at")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise InvalidArgument(
                "ends_at", f"must be at most {MAX_WINDOW.days} days after starts_at"
            )
        if not 1 <= self.min_contribution <= MAX_TARGET:
            raise InvalidArgument("min_contribution", "must be between 1 and 2^53")
        self._validate_milestones()

    def _validate_scope(self) -> None:
        if self.scope is GoalScope.TEAM:
            check_definition_id("team_id", self.team_id)
        elif self.team_id:
            raise InvalidArgument("team_id", "must be empty for a community goal")

    def _validate_metric(self) -> None:
        if self.metric is MetricKind.CHECK_IN:
            if self.event_types:
                raise InvalidArgument("event_types", "must be empty for a check-in goal")
            if self.conditions:
                raise InvalidArgument("conditions", "must be empty for a check-in goal")
            return
        if not 1 <= len(self.event_types) <= MAX_LIST:
            raise InvalidArgument("event_types", f"must hold 1 to {MAX_LIST} event types")
        if len(set(self.event_types)) != len(self.event_types):
            raise InvalidArgument("event_types", "must not repeat a type")
        for index, event_type in enumerate(self.event_types):
            check_event_type(f"event_types[{index}]", event_type)
        validate_conditions("conditions", self.conditions)

    def _validate_milestones(self) -> None:
        if not 1 <= len(self.milestones) <= MAX_MILESTONES:
            raise InvalidArgument("milestones", f"must hold 1 to {MAX_MILESTONES} milestones")
        previous = 0
        for index, milestone in enumerate(self.milestones):
            if not previous < milestone.target <= MAX_TARGET:
                raise InvalidArgument(
                    f"milestones[{index}].target",
                    "must be positive, above the previous milestone's and at most 2^53",
                )
            previous = milestone.target
            if not milestone.rewards:
                raise InvalidArgument(f"milestones[{index}].rewards", "must hold a reward")
            check_rewards(f"milestones[{index}].rewards", milestone.rewards)

    def is_open(self, at: dt.datetime) -> bool:
        """Whether contributions count at `at`: the window is [starts_at, ends_at)."""
        return self.starts_at <= at < self.ends_at

    def contribution(self, event: Event, now: dt.datetime) -> int:
        """What the applied event adds: it must have happened in the window, arrive while
        the goal is open (totals are final once it ends) and meet every condition."""
        if self.metric is MetricKind.CHECK_IN or event.type not in self.event_types:
            return 0
        if not (self.is_open(now) and self.is_open(event.occurred_at)):
            return 0
        if not all_hold(self.conditions, event.value, event.attributes):
            return 0
        return 1 if self.metric is MetricKind.EVENT_COUNT else max(event.value, 0)

    def reached(self, total: int) -> tuple[GoalMilestone, ...]:
        return tuple(m for m in self.milestones if m.target <= total)

    def next_milestone(self, total: int) -> GoalMilestone | None:
        return next((m for m in self.milestones if m.target > total), None)

    def newly_reached(self, before: int, after: int) -> tuple[GoalMilestone, ...]:
        return tuple(m for m in self.milestones if before < m.target <= after)

    def cause_ref(self, milestone: GoalMilestone) -> str:
        return f"goal:{self.goal_id}:milestone:{milestone.target}"

    def reason(self, milestone: GoalMilestone) -> str:
        return f"{self.title}: {milestone.target} reached together"

    def grant_key(self, milestone: GoalMilestone, user_id: str, index: int) -> str:
        """One grant per contributor, milestone and reward, whatever retries happen."""
        return f"{self.cause_ref(milestone)}:{user_id}:{index}"

    def grants(self, milestones: Iterable[GoalMilestone], user_id: str) -> list[Grant]:
        """The rewards of `milestones` for one qualifying contributor."""
        return [
            Grant(
                self.grant_key(m, user_id, index),
                user_id,
                reward,
                self.reason(m),
                CAUSE_KIND,
                self.cause_ref(m),
                self.version,
            )
            for m in milestones
            for index, reward in enumerate(m.rewards)
        ]

    def capped(self, limits: Limits) -> GoalDefinition:
        """The goal with every reward cut to the largest grant of its kind."""
        milestones = tuple(
            replace(m, rewards=tuple(limits.capped(r) for r in m.rewards)) for m in self.milestones
        )
        return replace(self, milestones=milestones)

    def fixed_at(self, now: dt.datetime) -> bool:
        """Once the window has started, totals and rewards depend on the definition."""
        return now >= self.starts_at


@dataclass(frozen=True, slots=True)
class Credit:
    """One contributor's contribution before and after a transaction's increments."""

    user_id: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class GoalChange:
    """What one contributor sees of a transaction's change to a goal: the total, their own
    contribution, and the milestones it reached (their grants follow as grants)."""

    goal_id: str
    total: int
    contribution: int
    reached: tuple[int, ...]
    qualifies: bool


def new_qualifiers(goal: GoalDefinition, credits: Iterable[Credit]) -> list[str]:
    """Contributors whose own contribution just reached the minimum."""
    minimum = goal.min_contribution
    return [c.user_id for c in credits if c.before < minimum <= c.after]


@dataclass(frozen=True, slots=True)
class GoalSet:
    """The goals that may still count, indexed for events and check-ins."""

    goals: Mapping[str, GoalDefinition] = field(default_factory=dict)

    @classmethod
    def of(cls, goals: Iterable[GoalDefinition]) -> GoalSet:
        return cls({g.goal_id: g for g in goals})

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(t for g in self.goals.values() for t in g.event_types)

    def for_events(self) -> list[GoalDefinition]:
        return [g for g in self.goals.values() if g.metric is not MetricKind.CHECK_IN]

    def for_check_ins(self, now: dt.datetime) -> list[GoalDefinition]:
        return [
            g for g in self.goals.values() if g.metric is MetricKind.CHECK_IN and g.is_open(now)
        ]
