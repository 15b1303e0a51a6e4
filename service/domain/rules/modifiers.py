"""Boosts and caps: what multiplies rewards and what limits them."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import ClassVar

from service.domain.errors import InvalidArgument
from service.domain.rewards import RewardKind
from service.domain.rules.checks import (
    MAX_TARGET,
    PERIODIC,
    DefinitionKind,
    check_audience,
    check_definition_id,
    check_event_type,
    check_ids,
    check_texts,
    check_weekdays,
)
from service.domain.rules.windows import Cadence

_BOOSTABLE = {RewardKind.POINTS, RewardKind.XP}


@dataclass(frozen=True, slots=True)
class BoostDefinition:
    """Multiplies points or XP rewards while its conditions hold.

    Stacking: within one stack_group only the largest multiplier applies; the groups'
    multipliers then multiply together.
    """

    KIND: ClassVar[DefinitionKind] = DefinitionKind.BOOST

    boost_id: str
    title: str
    multiplier_percent: int
    reward_kinds: tuple[RewardKind, ...] = (RewardKind.POINTS,)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    weekdays: tuple[int, ...] = ()
    min_level: int = 0
    segments: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    # Applies only to the nth matching event of the user's day, week or month.
    nth_event: int = 0
    nth_period: Cadence = Cadence.WEEKLY
    stack_group: str = ""
    version: int = 0
    archived: bool = False
    created_at: dt.datetime | None = None

    @property
    def definition_id(self) -> str:
        return self.boost_id

    def validate(self) -> None:
        check_definition_id("boost_id", self.boost_id)
        check_texts(self.title, "")
        if not 100 < self.multiplier_percent <= 10_000:
            raise InvalidArgument("multiplier_percent", "must be above 100 and at most 10000")
        if not self.reward_kinds or not set(self.reward_kinds) <= {
            RewardKind.POINTS,
            RewardKind.XP,
        }:
            raise InvalidArgument("reward_kinds", "must name points, xp or both")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise InvalidArgument("ends_at", "must be after starts_at")
        check_weekdays("weekdays", self.weekdays)
        check_audience(self.min_level, self.segments)
        for index, event_type in enumerate(self.event_types):
            check_event_type(f"event_types[{index}]", event_type)
        check_ids("task_ids", self.task_ids)
        if self.nth_event < 0:
            raise InvalidArgument("nth_event", "must not be negative")
        if self.nth_event and len(self.event_types) != 1:
            raise InvalidArgument("event_types", "must name one type for an nth-event boost")
        if self.nth_event and self.nth_period not in PERIODIC:
            raise InvalidArgument("nth_period", "must be daily, weekly or monthly")
        if len(self.stack_group) > 64:
            raise InvalidArgument("stack_group", "must be at most 64 characters")


class CapKind(enum.StrEnum):
    # Points or XP one user may receive per day, week or month, from some tasks or in total.
    USER_PERIOD = "user_period"
    # Points or XP all users together may receive from some tasks or in total.
    BUDGET = "budget"
    # Events of one type one user may send per minute.
    VELOCITY = "velocity"


@dataclass(frozen=True, slots=True)
class CapDefinition:
    """A limit; an event that would break it is stored as rejected and flagged for review."""

    KIND: ClassVar[DefinitionKind] = DefinitionKind.CAP

    cap_id: str
    title: str
    kind: CapKind
    limit: int
    reward_kind: RewardKind = RewardKind.POINTS
    period: Cadence = Cadence.DAILY
    task_ids: tuple[str, ...] = ()
    event_type: str = ""
    version: int = 0
    archived: bool = False
    created_at: dt.datetime | None = None

    @property
    def definition_id(self) -> str:
        return self.cap_id

    def validate(self) -> None:
        check_definition_id("cap_id", self.cap_id)
        check_texts(self.title, "")
        if not 0 < self.limit <= MAX_TARGET:
            raise InvalidArgument("limit", "must be positive")
        if self.kind is CapKind.VELOCITY:
            check_event_type("event_type", self.event_type)
            if self.task_ids:
                raise InvalidArgument("task_ids", "must be empty for a velocity cap")
            return
        if self.event_type:
            raise InvalidArgument("event_type", f"must be empty for a {self.kind} cap")
        if self.reward_kind not in (RewardKind.POINTS, RewardKind.XP):
            raise InvalidArgument("reward_kind", "must be points or xp")
        if self.kind is CapKind.USER_PERIOD and self.period not in PERIODIC:
            raise InvalidArgument("period", "must be daily, weekly or monthly")
        check_ids("task_ids", self.task_ids)
