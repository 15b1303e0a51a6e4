"""Tasks, badges and levels as game ops configure them; every change is a new version."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
from dataclasses import dataclass
from typing import ClassVar

from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward
from service.domain.rules.assists import AssistRule
from service.domain.rules.checks import (
    MAX_TARGET,
    MAX_TIERS,
    DefinitionKind,
    check_audience,
    check_dates,
    check_definition_id,
    check_event_type,
    check_ids,
    check_rewards,
    check_texts,
    check_week_start,
    check_weekdays,
)
from service.domain.rules.conditions import Condition, validate_conditions
from service.domain.rules.windows import Cadence
from service.domain.validation import check_id


class Measure(enum.StrEnum):
    COUNT = "count"
    SUM = "sum"
    # Different values of one attribute ("10 different friends").
    DISTINCT = "distinct"


# The most distinct values a target may ask for: the values seen are kept (exactly) until
# the target is reached, so this bounds what one user's progress holds.
MAX_DISTINCT_TARGET = 1000
MAX_ATTRIBUTE_NAME = 64


def check_distinct(field: str, attribute: str, distinct: bool, last_target: int) -> None:
    """A distinct measure names the attribute whose values it counts, up to a bound."""
    if not distinct:
        if attribute:
            raise InvalidArgument(field, "must be empty unless distinct values are counted")
        return
    if not 0 < len(attribute) <= MAX_ATTRIBUTE_NAME or not attribute.isprintable():
        raise InvalidArgument(field, f"must be 1 to {MAX_ATTRIBUTE_NAME} printable characters")
    if last_target > MAX_DISTINCT_TARGET:
        raise InvalidArgument(
            field, f"counts at most {MAX_DISTINCT_TARGET} distinct values: lower the last tier"
        )


@dataclass(frozen=True, slots=True)
class TaskTier:
    """Reaching `target` completes the tier; rewards and an optional badge follow."""

    target: int
    rewards: tuple[Reward, ...] = ()
    badge_id: str = ""


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """Progress on events of one type; tiers have rising targets, the last completes it."""

    KIND: ClassVar[DefinitionKind] = DefinitionKind.TASK

    task_id: str
    title: str
    event_type: str
    tiers: tuple[TaskTier, ...]
    measure: Measure = Measure.COUNT
    # The attribute whose different values a distinct measure counts.
    distinct_attribute: str = ""
    conditions: tuple[Condition, ...] = ()
    cadence: Cadence = Cadence.ONCE
    week_start: int = 1
    # ISO weekdays (1 = Monday) on which events count; empty means every day.
    active_weekdays: tuple[int, ...] = ()
    # Local calendar days the task is available; required for a date-range cadence.
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    # A repeatable task starts over after its last tier, also within the same window.
    repeatable: bool = False
    # Completions over the task's life; 0 means unlimited.
    max_completions: int = 0
    prerequisites: tuple[str, ...] = ()
    min_level: int = 0
    # The user must hold one of these segments; empty means everyone.
    segments: tuple[str, ...] = ()
    rollout_percent: int = 100
    auto_claim: bool = True
    description: str = ""
    # Whether and how friends may help; None takes no assists.
    assists: AssistRule | None = None
    version: int = 0
    archived: bool = False
    created_at: dt.datetime | None = None

    @property
    def definition_id(self) -> str:
        return self.task_id

    def validate(self) -> None:
        check_definition_id("task_id", self.task_id)
        check_texts(self.title, self.description)
        check_event_type("event_type", self.event_type)
        validate_conditions("conditions", self.conditions)
        if not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidArgument("tiers", f"must hold 1 to {MAX_TIERS} tiers")
        previous = 0
        for index, tier in enumerate(self.tiers):
            if not previous < tier.target <= MAX_TARGET:
                raise InvalidArgument(
                    f"tiers[{index}].target", "must be positive and above the previous tier's"
                )
            previous = tier.target
            check_rewards(f"tiers[{index}].rewards", tier.rewards)
            if tier.badge_id:
                check_definition_id(f"tiers[{index}].badge_id", tier.badge_id)
        distinct = self.measure is Measure.DISTINCT
        check_distinct("distinct_attribute", self.distinct_attribute, distinct, previous)
        check_week_start(self.week_start)
        check_weekdays("active_weekdays", self.active_weekdays)
        check_dates(self.starts_on, self.ends_on, required=self.cadence is Cadence.DATE_RANGE)
        if self.max_completions < 0:
            raise InvalidArgument("max_completions", "must not be negative")
        if self.cadence is Cadence.ONCE and not self.repeatable and self.max_completions > 1:
            raise InvalidArgument("max_completions", "must be 0 or 1 for a task done once")
        check_ids("prerequisites", self.prerequisites)
        if self.task_id in self.prerequisites:
            raise InvalidArgument("prerequisites", "must not name the task itself")
        check_audience(self.min_level, self.segments)
        if not 0 <= self.rollout_percent <= 100:
            raise InvalidArgument("rollout_percent", "must be between 0 and 100")
        if self.assists is not None:
            if distinct:
                raise InvalidArgument("assists", "a distinct task counts values: no assists")
            self.assists.validate("assists")


class CriterionKind(enum.StrEnum):
    EVENT_COUNT = "event_count"
    EVENT_SUM = "event_sum"
    # Different values of one attribute over matching events.
    EVENT_DISTINCT = "event_distinct"
    TASK_COMPLETIONS = "task_completions"
    STREAK_LENGTH = "streak_length"
    LEVEL_REACHED = "level_reached"
    BOARD_RANK = "board_rank"


_ON_EVENTS = frozenset(
    {CriterionKind.EVENT_COUNT, CriterionKind.EVENT_SUM, CriterionKind.EVENT_DISTINCT}
)


@dataclass(frozen=True, slots=True)
class BadgeCriterion:
    """What a badge measures; the tiers' thresholds apply to it."""

    kind: CriterionKind
    event_type: str = ""
    conditions: tuple[Condition, ...] = ()
    task_id: str = ""
    board_id: str = ""
    # The attribute whose different values an event_distinct badge counts.
    distinct_attribute: str = ""

    def validate(self) -> None:
        on_events = self.kind in _ON_EVENTS
        if on_events:
            check_event_type("criterion.event_type", self.event_type)
            validate_conditions("criterion.conditions", self.conditions)
        elif self.event_type:
            raise InvalidArgument("criterion.event_type", f"must be empty for {self.kind}")
        elif self.conditions:
            raise InvalidArgument("criterion.conditions", f"must be empty for {self.kind}")
        if self.kind is CriterionKind.TASK_COMPLETIONS:
            check_definition_id("criterion.task_id", self.task_id)
        elif self.task_id:
            raise InvalidArgument("criterion.task_id", f"must be empty for {self.kind}")
        if self.kind is CriterionKind.BOARD_RANK:
            check_id("criterion.board_id", self.board_id)
        elif self.board_id:
            raise InvalidArgument("criterion.board_id", f"must be empty for {self.kind}")


@dataclass(frozen=True, slots=True)
class BadgeTier:
    """A tier (bronze, silver, gold): reaching `threshold` earns it.

    For a board-rank badge the threshold is the worst final rank that earns the tier.
    """

    name: str
    threshold: int
    rewards: tuple[Reward, ...] = ()


@dataclass(frozen=True, slots=True)
class BadgeDefinition:
    KIND: ClassVar[DefinitionKind] = DefinitionKind.BADGE

    badge_id: str
    title: str
    criterion: BadgeCriterion
    tiers: tuple[BadgeTier, ...]
    available_from: dt.datetime | None = None
    available_until: dt.datetime | None = None
    # How many users can earn the first tier; 0 means unlimited.
    supply: int = 0
    secret: bool = False
    description: str = ""
    version: int = 0
    archived: bool = False
    created_at: dt.datetime | None = None

    @property
    def definition_id(self) -> str:
        return self.badge_id

    @property
    def by_rank(self) -> bool:
        return self.criterion.kind is CriterionKind.BOARD_RANK

    def validate(self) -> None:
        check_definition_id("badge_id", self.badge_id)
        check_texts(self.title, self.description)
        self.criterion.validate()
        if not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidArgument("tiers", f"must hold 1 to {MAX_TIERS} tiers")
        previous: int | None = None
        for index, tier in enumerate(self.tiers):
            if not tier.name or len(tier.name) > 64:
                raise InvalidArgument(f"tiers[{index}].name", "must be 1 to 64 characters")
            rising = previous is None or (
                tier.threshold < previous if self.by_rank else tier.threshold > previous
            )
            if not 0 < tier.threshold <= MAX_TARGET or not rising:
                order = "fall" if self.by_rank else "rise"
                raise InvalidArgument(
                    f"tiers[{index}].threshold", f"must be positive and {order} tier by tier"
                )
            previous = tier.threshold
            check_rewards(f"tiers[{index}].rewards", tier.rewards)
        check_distinct(
            "criterion.distinct_attribute", self.criterion.distinct_attribute,
            self.criterion.kind is CriterionKind.EVENT_DISTINCT, previous or 0,
        )  # fmt: skip
        starts, ends = self.available_from, self.available_until
        if starts and ends and ends <= starts:
            raise InvalidArgument("available_until", "must be after available_from")
        if self.supply < 0:
            raise InvalidArgument("supply", "must not be negative")

    def available(self, at: dt.datetime) -> bool:
        starts, ends = self.available_from, self.available_until
        return (starts is None or at >= starts) and (ends is None or at < ends)


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    name: str
    xp: int
    rewards: tuple[Reward, ...] = ()


LEVELS_ID = "default"


@dataclass(frozen=True, slots=True)
class LevelTable:
    """XP thresholds of levels 1..N: listed, or by formula xp(n) = base_xp * (n-1)^exponent."""

    KIND: ClassVar[DefinitionKind] = DefinitionKind.LEVELS

    levels: tuple[Level, ...] = ()
    base_xp: int = 0
    exponent: float = 1.0
    max_level: int = 0
    version: int = 0
    archived: bool = False
    created_at: dt.datetime | None = None

    @property
    def definition_id(self) -> str:
        return LEVELS_ID

    def validate(self) -> None:
        if self.levels and (self.base_xp or self.max_level):
            raise InvalidArgument("levels", "give either levels or a formula, not both")
        if not self.levels:
            if not 0 < self.base_xp <= MAX_TARGET:
                raise InvalidArgument("base_xp", "must be positive when no levels are listed")
            if not 0.5 <= self.exponent <= 4:
                raise InvalidArgument("exponent", "must be between 0.5 and 4")
            if not 2 <= self.max_level <= 1000:
                raise InvalidArgument("max_level", "must be between 2 and 1000")
            if self.base_xp * (self.max_level - 1) ** self.exponent > MAX_TARGET:
                raise InvalidArgument("max_level", "makes the top threshold exceed 2^53 XP")
            self._check_formula_rises()
            return
        if len(self.levels) > 1000:
            raise InvalidArgument("levels", "must hold at most 1000 levels")
        for index, level in enumerate(self.levels):
            field = f"levels[{index}]"
            if level.level != index + 1:
                raise InvalidArgument(f"{field}.level", "levels must be numbered 1, 2, 3...")
            if not level.name or len(level.name) > 64:
                raise InvalidArgument(f"{field}.name", "must be 1 to 64 characters")
            previous = self.levels[index - 1].xp if index else -1
            if index == 0 and level.xp != 0:
                raise InvalidArgument(f"{field}.xp", "level 1 starts at 0 XP")
            if index and not previous < level.xp <= MAX_TARGET:
                raise InvalidArgument(f"{field}.xp", "must rise level by level")
            check_rewards(f"{field}.rewards", level.rewards)

    def _check_formula_rises(self) -> None:
        # Rounding a flat curve (exponent below 1, small base_xp) can give two levels the
        # same threshold, and the lower of the two could never be held.
        levels = self.table()
        for lower, upper in itertools.pairwise(levels):
            if upper.xp <= lower.xp:
                raise InvalidArgument(
                    "base_xp",
                    f"is too small for the exponent: levels {lower.level} and {upper.level} "
                    f"would both need {upper.xp} XP",
                )

    def table(self) -> tuple[Level, ...]:
        """Every level with its threshold, the formula expanded."""
        if self.levels:
            return self.levels
        return tuple(
            Level(n, f"Level {n}", round(self.base_xp * (n - 1) ** self.exponent))
            for n in range(1, self.max_level + 1)
        )


DEFAULT_LEVELS = LevelTable(levels=(Level(1, "Level 1", 0),))
