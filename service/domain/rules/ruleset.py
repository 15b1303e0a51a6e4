"""The current definitions, indexed for evaluating events without a query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from service.domain.rules.definitions import (
    DEFAULT_LEVELS,
    BadgeDefinition,
    CriterionKind,
    LevelTable,
    TaskDefinition,
)
from service.domain.rules.limits import Limits
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind

Definition = TaskDefinition | BadgeDefinition | LevelTable | BoostDefinition | CapDefinition


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Live (not archived) definitions, current versions only."""

    tasks: Mapping[str, TaskDefinition] = field(default_factory=dict)
    badges: Mapping[str, BadgeDefinition] = field(default_factory=dict)
    levels: LevelTable = DEFAULT_LEVELS
    boosts: tuple[BoostDefinition, ...] = ()
    caps: tuple[CapDefinition, ...] = ()
    tasks_by_event: Mapping[str, tuple[TaskDefinition, ...]] = field(default_factory=dict)
    badges_by_event: Mapping[str, tuple[BadgeDefinition, ...]] = field(default_factory=dict)
    badges_by_task: Mapping[str, tuple[BadgeDefinition, ...]] = field(default_factory=dict)
    badges_by_kind: Mapping[CriterionKind, tuple[BadgeDefinition, ...]] = field(
        default_factory=dict
    )
    velocity_types: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def of(cls, definitions: Iterable[Definition], limits: Limits | None = None) -> RuleSet:
        live = [d for d in definitions if not d.archived]
        tasks = {d.task_id: d for d in live if isinstance(d, TaskDefinition)}
        badges = {d.badge_id: d for d in live if isinstance(d, BadgeDefinition)}
        levels = [d for d in live if isinstance(d, LevelTable)]
        caps = tuple(d for d in live if isinstance(d, CapDefinition))
        by_event: defaultdict[str, list[TaskDefinition]] = defaultdict(list)
        for task in tasks.values():
            by_event[task.event_type].append(task)
        badge_index: defaultdict[str, list[BadgeDefinition]] = defaultdict(list)
        task_index: defaultdict[str, list[BadgeDefinition]] = defaultdict(list)
        kind_index: defaultdict[CriterionKind, list[BadgeDefinition]] = defaultdict(list)
        for badge in badges.values():
            kind_index[badge.criterion.kind].append(badge)
            if badge.criterion.event_type:
                badge_index[badge.criterion.event_type].append(badge)
            if badge.criterion.task_id:
                task_index[badge.criterion.task_id].append(badge)
        return cls(
            tasks=tasks,
            badges=badges,
            levels=levels[0] if levels else DEFAULT_LEVELS,
            boosts=tuple(d for d in live if isinstance(d, BoostDefinition)),
            caps=caps,
            tasks_by_event={k: tuple(v) for k, v in by_event.items()},
            badges_by_event={k: tuple(v) for k, v in badge_index.items()},
            badges_by_task={k: tuple(v) for k, v in task_index.items()},
            badges_by_kind={k: tuple(v) for k, v in kind_index.items()},
            velocity_types=tuple(
                sorted({c.event_type for c in caps if c.kind is CapKind.VELOCITY})
            ),
            limits=limits or Limits(),
        )

    def limits_for(self, event_types: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
        """The limited badges (id -> supply) and budgets (id -> limit) that events of these
        types may consume: the rows a transaction locks before evaluating them."""
        types = set(event_types)
        tasks = [t for t in self.tasks.values() if t.event_type in types]
        badges = {b for t in types for b in self.badges_by_event.get(t, ())}
        badges |= {b for t in tasks for b in self.badges_by_task.get(t.task_id, ())}
        badges |= set(self.badges_by_kind.get(CriterionKind.LEVEL_REACHED, ()))
        tier_badges = {tier.badge_id for t in tasks for tier in t.tiers if tier.badge_id}
        badges |= {self.badges[b] for b in tier_badges if b in self.badges}
        task_ids = {t.task_id for t in tasks}
        budgets = {
            c.cap_id: c.limit
            for c in self.caps
            if c.kind is CapKind.BUDGET and (not c.task_ids or task_ids & set(c.task_ids))
        }
        return {b.badge_id: b.supply for b in badges if b.supply}, budgets
