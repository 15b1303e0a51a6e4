"""Translations between definition protos and the rules engine's definitions, both ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from service.domain.errors import InvalidArgument
from service.domain.rewards import RewardKind
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    LEVELS_ID,
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Level,
    LevelTable,
    Measure,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.windows import Cadence
from service.domain.validation import parse_day
from service.entrypoints.grpc_api.convert import (
    instant_from_pb,
    instant_to_pb,
    reward_kind_to_pb,
    reward_to_pb,
    rewards_from_pb,
)
from service.entrypoints.grpc_api.enums import EnumTable
from service.entrypoints.grpc_api.social.assist_convert import assists_from_pb, assists_to_pb
from service.gen.engagement.v1 import definitions_pb2 as pb

KINDS = EnumTable(
    {
        DefinitionKind.TASK: pb.DEFINITION_KIND_TASK,
        DefinitionKind.BADGE: pb.DEFINITION_KIND_BADGE,
        DefinitionKind.LEVELS: pb.DEFINITION_KIND_LEVELS,
        DefinitionKind.BOOST: pb.DEFINITION_KIND_BOOST,
        DefinitionKind.CAP: pb.DEFINITION_KIND_CAP,
    }
)
CADENCES = EnumTable(
    {
        Cadence.ONCE: pb.CADENCE_ONCE,
        Cadence.DAILY: pb.CADENCE_DAILY,
        Cadence.WEEKLY: pb.CADENCE_WEEKLY,
        Cadence.MONTHLY: pb.CADENCE_MONTHLY,
        Cadence.DATE_RANGE: pb.CADENCE_DATE_RANGE,
    }
)
_MEASURES = EnumTable({Measure.COUNT: pb.MEASURE_COUNT, Measure.SUM: pb.MEASURE_SUM,
                       Measure.DISTINCT: pb.MEASURE_DISTINCT})  # fmt: skip
_OPS = EnumTable(
    {
        Op.EQ: pb.CONDITION_OP_EQ,
        Op.NE: pb.CONDITION_OP_NE,
        Op.LT: pb.CONDITION_OP_LT,
        Op.LE: pb.CONDITION_OP_LE,
        Op.GT: pb.CONDITION_OP_GT,
        Op.GE: pb.CONDITION_OP_GE,
        Op.IN: pb.CONDITION_OP_IN,
        Op.NOT_IN: pb.CONDITION_OP_NOT_IN,
        Op.EXISTS: pb.CONDITION_OP_EXISTS,
    }
)
_CRITERIA = EnumTable(
    {
        CriterionKind.EVENT_COUNT: pb.CRITERION_KIND_EVENT_COUNT,
        CriterionKind.EVENT_SUM: pb.CRITERION_KIND_EVENT_SUM,
        CriterionKind.EVENT_DISTINCT: pb.CRITERION_KIND_EVENT_DISTINCT,
        CriterionKind.TASK_COMPLETIONS: pb.CRITERION_KIND_TASK_COMPLETIONS,
        CriterionKind.STREAK_LENGTH: pb.CRITERION_KIND_STREAK_LENGTH,
        CriterionKind.LEVEL_REACHED: pb.CRITERION_KIND_LEVEL_REACHED,
        CriterionKind.BOARD_RANK: pb.CRITERION_KIND_BOARD_RANK,
    }
)
_CAP_KINDS = EnumTable(
    {
        CapKind.USER_PERIOD: pb.CAP_KIND_USER_PERIOD,
        CapKind.BUDGET: pb.CAP_KIND_BUDGET,
        CapKind.VELOCITY: pb.CAP_KIND_VELOCITY,
    }
)
_REWARD_KINDS = EnumTable({kind: reward_kind_to_pb(kind) for kind in RewardKind})

# Instances holding every default, so that unset proto fields take the dataclasses' own.
_TASK = TaskDefinition("", "", "", ())
_BOOST = BoostDefinition("", "", 0)
_CAP = CapDefinition("", "", CapKind.BUDGET, 0)
_LEVELS = LevelTable()


def _day(value: str, field: str) -> dt.date | None:
    return parse_day(field, value) if value else None


def kind_from_pb(value: pb.DefinitionKind.ValueType, field: str = "kind") -> DefinitionKind:
    return KINDS.from_pb(value, field)


def definition_id_from_pb(kind: DefinitionKind, definition_id: str) -> str:
    """The id as given; the level table's own when empty, as there is only one."""
    return definition_id or (LEVELS_ID if kind is DefinitionKind.LEVELS else "")


def conditions_from_pb(messages: Iterable[pb.Condition], field: str) -> tuple[Condition, ...]:
    return tuple(
        Condition(m.field, _OPS.from_pb(m.op, f"{field}[{i}].op"), tuple(m.operands))
        for i, m in enumerate(messages)
    )


def conditions_to_pb(conditions: Iterable[Condition]) -> list[pb.Condition]:
    return [
        pb.Condition(field=c.field, op=_OPS.to_pb(c.op), operands=c.operands) for c in conditions
    ]


def task_from_pb(m: pb.TaskDefinition, field: str) -> TaskDefinition:
    return TaskDefinition(
        task_id=m.task_id,
        title=m.title,
        description=m.description,
        event_type=m.event_type,
        tiers=tuple(
            TaskTier(t.target, rewards_from_pb(t.rewards, f"{field}.tiers[{i}]"), t.badge_id)
            for i, t in enumerate(m.tiers)
        ),
        measure=_MEASURES.from_pb(m.measure, f"{field}.measure", _TASK.measure),
        distinct_attribute=m.distinct_attribute,
        conditions=conditions_from_pb(m.conditions, f"{field}.conditions"),
        cadence=CADENCES.from_pb(m.cadence, f"{field}.cadence", _TASK.cadence),
        week_start=m.week_start or _TASK.week_start,
        active_weekdays=tuple(m.active_weekdays),
        starts_on=_day(m.starts_on, f"{field}.starts_on"),
        ends_on=_day(m.ends_on, f"{field}.ends_on"),
        repeatable=m.repeatable,
        max_completions=m.max_completions,
        prerequisites=tuple(m.prerequisites),
        min_level=m.min_level,
        segments=tuple(m.segments),
        rollout_percent=(
            m.rollout_percent if m.HasField("rollout_percent") else _TASK.rollout_percent
        ),
        auto_claim=m.auto_claim if m.HasField("auto_claim") else _TASK.auto_claim,
        assists=assists_from_pb(m.assists) if m.HasField("assists") else None,
    )


def task_to_pb(task: TaskDefinition) -> pb.TaskDefinition:
    return pb.TaskDefinition(
        task_id=task.task_id,
        title=task.title,
        description=task.description,
        event_type=task.event_type,
        tiers=[
            pb.TaskTier(
                target=t.target, rewards=[reward_to_pb(r) for r in t.rewards], badge_id=t.badge_id
            )
            for t in task.tiers
        ],
        measure=_MEASURES.to_pb(task.measure),
        distinct_attribute=task.distinct_attribute,
        conditions=conditions_to_pb(task.conditions),
        cadence=CADENCES.to_pb(task.cadence),
        week_start=task.week_start,
        active_weekdays=task.active_weekdays,
        starts_on=task.starts_on.isoformat() if task.starts_on else "",
        ends_on=task.ends_on.isoformat() if task.ends_on else "",
        repeatable=task.repeatable,
        max_completions=task.max_completions,
        prerequisites=task.prerequisites,
        min_level=task.min_level,
        segments=task.segments,
        rollout_percent=task.rollout_percent,
        auto_claim=task.auto_claim,
        assists=assists_to_pb(task.assists),
        version=task.version,
        archived=task.archived,
        created_at=instant_to_pb(task.created_at),
    )


def _criterion_from_pb(m: pb.BadgeCriterion, field: str) -> BadgeCriterion:
    return BadgeCriterion(
        kind=_CRITERIA.from_pb(m.kind, f"{field}.kind"),
        event_type=m.event_type,
        conditions=conditions_from_pb(m.conditions, f"{field}.conditions"),
        task_id=m.task_id,
        board_id=m.board_id,
        distinct_attribute=m.distinct_attribute,
    )


def badge_from_pb(m: pb.BadgeDefinition, field: str) -> BadgeDefinition:
    return BadgeDefinition(
        badge_id=m.badge_id,
        title=m.title,
        description=m.description,
        criterion=_criterion_from_pb(m.criterion, f"{field}.criterion"),
        tiers=tuple(
            BadgeTier(t.name, t.threshold, rewards_from_pb(t.rewards, f"{field}.tiers[{i}]"))
            for i, t in enumerate(m.tiers)
        ),
        available_from=instant_from_pb(m, "available_from", f"{field}.available_from"),
        available_until=instant_from_pb(m, "available_until", f"{field}.available_until"),
        supply=m.supply,
        secret=m.secret,
    )


def badge_to_pb(badge: BadgeDefinition) -> pb.BadgeDefinition:
    criterion = badge.criterion
    return pb.BadgeDefinition(
        badge_id=badge.badge_id,
        title=badge.title,
        description=badge.description,
        criterion=pb.BadgeCriterion(
            kind=_CRITERIA.to_pb(criterion.kind),
            event_type=criterion.event_type,
            conditions=conditions_to_pb(criterion.conditions),
            task_id=criterion.task_id,
            board_id=criterion.board_id,
            distinct_attribute=criterion.distinct_attribute,
        ),
        tiers=[
            pb.BadgeTier(
                name=t.name, threshold=t.threshold, rewards=[reward_to_pb(r) for r in t.rewards]
            )
            for t in badge.tiers
        ],
        available_from=instant_to_pb(badge.available_from),
        available_until=instant_to_pb(badge.available_until),
        supply=badge.supply,
        secret=badge.secret,
        version=badge.version,
        archived=badge.archived,
        created_at=instant_to_pb(badge.created_at),
    )


def levels_from_pb(m: pb.LevelTable, field: str) -> LevelTable:
    return LevelTable(
        levels=tuple(
            Level(v.level, v.name, v.xp, rewards_from_pb(v.rewards, f"{field}.levels[{i}]"))
            for i, v in enumerate(m.levels)
        ),
        base_xp=m.base_xp,
        exponent=m.exponent or _LEVELS.exponent,
        max_level=m.max_level,
    )


def levels_to_pb(table: LevelTable) -> pb.LevelTable:
    return pb.LevelTable(
        levels=[
            pb.Level(
                level=v.level, name=v.name, xp=v.xp, rewards=[reward_to_pb(r) for r in v.rewards]
            )
            for v in table.levels
        ],
        base_xp=table.base_xp,
        exponent=table.exponent,
        max_level=table.max_level,
        version=table.version,
        archived=table.archived,
        created_at=instant_to_pb(table.created_at),
    )


def boost_from_pb(m: pb.BoostDefinition, field: str) -> BoostDefinition:
    kinds = tuple(
        _REWARD_KINDS.from_pb(k, f"{field}.reward_kinds[{i}]") for i, k in enumerate(m.reward_kinds)
    )
    return BoostDefinition(
        boost_id=m.boost_id,
        title=m.title,
        multiplier_percent=m.multiplier_percent,
        reward_kinds=kinds or _BOOST.reward_kinds,
        starts_at=instant_from_pb(m, "starts_at", f"{field}.starts_at"),
        ends_at=instant_from_pb(m, "ends_at", f"{field}.ends_at"),
        weekdays=tuple(m.weekdays),
        min_level=m.min_level,
        segments=tuple(m.segments),
        event_types=tuple(m.event_types),
        task_ids=tuple(m.task_ids),
        nth_event=m.nth_event,
        nth_period=CADENCES.from_pb(m.nth_period, f"{field}.nth_period", _BOOST.nth_period),
        stack_group=m.stack_group,
    )


def boost_to_pb(boost: BoostDefinition) -> pb.BoostDefinition:
    return pb.BoostDefinition(
        boost_id=boost.boost_id,
        title=boost.title,
        multiplier_percent=boost.multiplier_percent,
        reward_kinds=[_REWARD_KINDS.to_pb(k) for k in boost.reward_kinds],
        starts_at=instant_to_pb(boost.starts_at),
        ends_at=instant_to_pb(boost.ends_at),
        weekdays=boost.weekdays,
        min_level=boost.min_level,
        segments=boost.segments,
        event_types=boost.event_types,
        task_ids=boost.task_ids,
        nth_event=boost.nth_event,
        nth_period=CADENCES.to_pb(boost.nth_period),
        stack_group=boost.stack_group,
        version=boost.version,
        archived=boost.archived,
        created_at=instant_to_pb(boost.created_at),
    )


def cap_from_pb(m: pb.CapDefinition, field: str) -> CapDefinition:
    return CapDefinition(
        cap_id=m.cap_id,
        title=m.title,
        kind=_CAP_KINDS.from_pb(m.kind, f"{field}.kind"),
        limit=m.limit,
        reward_kind=_REWARD_KINDS.from_pb(m.reward_kind, f"{field}.reward_kind", _CAP.reward_kind),
        period=CADENCES.from_pb(m.period, f"{field}.period", _CAP.period),
        task_ids=tuple(m.task_ids),
        event_type=m.event_type,
    )


def cap_to_pb(cap: CapDefinition) -> pb.CapDefinition:
    return pb.CapDefinition(
        cap_id=cap.cap_id,
        title=cap.title,
        kind=_CAP_KINDS.to_pb(cap.kind),
        limit=cap.limit,
        reward_kind=_REWARD_KINDS.to_pb(cap.reward_kind),
        period=CADENCES.to_pb(cap.period),
        task_ids=cap.task_ids,
        event_type=cap.event_type,
        version=cap.version,
        archived=cap.archived,
        created_at=instant_to_pb(cap.created_at),
    )


def definition_from_pb(m: pb.Definition, field: str = "definition") -> Definition:
    """The definition `m` holds; output-only fields (version, archived, created_at) are left
    at their defaults."""
    which = m.WhichOneof("definition")
    convert = _FROM_PB.get(which or "")
    if convert is None:
        raise InvalidArgument(field, "must hold one of task, badge, levels, boost, cap")
    return convert(getattr(m, which or ""), f"{field}.{which}")


_FROM_PB: dict[str, Callable[[Any, str], Definition]] = {
    "task": task_from_pb,
    "badge": badge_from_pb,
    "levels": levels_from_pb,
    "boost": boost_from_pb,
    "cap": cap_from_pb,
}


def definition_to_pb(definition: Definition) -> pb.Definition:
    if isinstance(definition, TaskDefinition):
        return pb.Definition(task=task_to_pb(definition))
    if isinstance(definition, BadgeDefinition):
        return pb.Definition(badge=badge_to_pb(definition))
    if isinstance(definition, LevelTable):
        return pb.Definition(levels=levels_to_pb(definition))
    if isinstance(definition, BoostDefinition):
        return pb.Definition(boost=boost_to_pb(definition))
    return pb.Definition(cap=cap_to_pb(definition))
