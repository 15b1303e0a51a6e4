"""Definition protos and the rules engine's definitions: round trips, defaults, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from service.domain.errors import InvalidArgument
from service.domain.rewards import RewardKind
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.definitions import LevelTable, TaskDefinition, TaskTier
from service.domain.rules.modifiers import BoostDefinition, CapDefinition
from service.domain.rules.ruleset import Definition
from service.domain.rules.windows import Cadence
from service.entrypoints.grpc_api.rules import definition_convert as defs
from service.gen.engagement.v1 import definitions_pb2 as pb
from service.gen.engagement.v1 import rewards_pb2 as rewards_pb
from tests.support.definition_samples import AT, DEFINITIONS


def _over_the_wire(definition: Definition) -> Definition:
    message = defs.definition_to_pb(definition)
    return defs.definition_from_pb(pb.Definition.FromString(message.SerializeToString()))


def _field_of(excinfo: pytest.ExceptionInfo[InvalidArgument]) -> str:
    return excinfo.value.field


# Definitions: round trips


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.definition_id)
def test_every_definition_kind_survives_a_round_trip(definition: Definition) -> None:
    definition.validate()  # the samples are real definitions, not arbitrary field soup

    assert _over_the_wire(definition) == definition


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.definition_id)
def test_output_only_fields_go_out_and_are_ignored_coming_in(definition: Definition) -> None:
    stored = dataclasses.replace(definition, version=7, archived=True, created_at=AT)

    message = defs.definition_to_pb(stored)
    which = message.WhichOneof("definition")
    assert which is not None
    inner = getattr(message, which)
    assert (inner.version, inner.archived, inner.created_at.ToDatetime(dt.UTC)) == (7, True, AT)
    assert defs.definition_from_pb(message) == definition


def test_unset_fields_take_the_dataclass_defaults() -> None:
    message = pb.Definition(
        task=pb.TaskDefinition(
            task_id="t", title="T", event_type="e", tiers=[pb.TaskTier(target=1)]
        )
    )

    assert defs.definition_from_pb(message) == TaskDefinition("t", "T", "e", (TaskTier(1),))


def test_explicit_zeros_differ_from_unset_where_zero_means_something() -> None:
    task = defs.definition_from_pb(
        pb.Definition(
            task=pb.TaskDefinition(max_completions=0, rollout_percent=0, auto_claim=False)
        )
    )

    assert isinstance(task, TaskDefinition)
    assert (task.max_completions, task.rollout_percent, task.auto_claim) == (0, 0, False)


def test_unset_enums_of_boosts_and_caps_take_the_defaults() -> None:
    boost = defs.definition_from_pb(pb.Definition(boost=pb.BoostDefinition(boost_id="b")))
    cap = defs.definition_from_pb(
        pb.Definition(cap=pb.CapDefinition(cap_id="c", kind=pb.CAP_KIND_BUDGET))
    )

    assert isinstance(boost, BoostDefinition)
    assert (boost.reward_kinds, boost.nth_period) == ((RewardKind.POINTS,), Cadence.WEEKLY)
    assert isinstance(cap, CapDefinition)
    assert (cap.reward_kind, cap.period) == (RewardKind.POINTS, Cadence.DAILY)


def test_an_unset_exponent_means_linear_levels() -> None:
    table = defs.definition_from_pb(pb.Definition(levels=pb.LevelTable(base_xp=10, max_level=5)))

    assert table == LevelTable(base_xp=10, exponent=1.0, max_level=5)


# Definitions: errors name the proto field


def _task(**fields: Any) -> pb.Definition:
    return pb.Definition(task=pb.TaskDefinition(task_id="t", **fields))


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (_task(cadence=42), "definition.task.cadence"),
        (_task(measure=9), "definition.task.measure"),
        (
            _task(conditions=[pb.Condition(field="value", operands=["1"])]),
            "definition.task.conditions[0].op",
        ),
        (
            _task(tiers=[pb.TaskTier(target=1, rewards=[rewards_pb.Reward(amount=5)])]),
            "definition.task.tiers[0].rewards[0].kind",
        ),
        (_task(starts_on="2026-13-01"), "definition.task.starts_on"),
        (_task(ends_on="20261224"), "definition.task.ends_on"),
        (
            pb.Definition(badge=pb.BadgeDefinition(badge_id="b")),
            "definition.badge.criterion.kind",
        ),
        (
            pb.Definition(
                badge=pb.BadgeDefinition(
                    criterion=pb.BadgeCriterion(
                        kind=pb.CRITERION_KIND_EVENT_COUNT,
                        conditions=[pb.Condition(field="value", op=pb.ConditionOp.ValueType(77))],
                    )
                )
            ),
            "definition.badge.criterion.conditions[0].op",
        ),
        (
            pb.Definition(
                levels=pb.LevelTable(
                    levels=[
                        pb.Level(
                            level=1,
                            rewards=[
                                rewards_pb.Reward(
                                    kind=rewards_pb.RewardKind.ValueType(99), amount=1
                                )
                            ],
                        )
                    ]
                )
            ),
            "definition.levels.levels[0].rewards[0].kind",
        ),
        (
            pb.Definition(
                boost=pb.BoostDefinition(
                    reward_kinds=[rewards_pb.REWARD_KIND_XP, rewards_pb.REWARD_KIND_UNSPECIFIED]
                )
            ),
            "definition.boost.reward_kinds[1]",
        ),
        (
            pb.Definition(boost=pb.BoostDefinition(nth_period=pb.Cadence.ValueType(12))),
            "definition.boost.nth_period",
        ),
        (pb.Definition(cap=pb.CapDefinition(cap_id="c")), "definition.cap.kind"),
        (
            pb.Definition(
                cap=pb.CapDefinition(
                    kind=pb.CAP_KIND_BUDGET, reward_kind=rewards_pb.RewardKind.ValueType(8)
                )
            ),
            "definition.cap.reward_kind",
        ),
        (
            pb.Definition(
                cap=pb.CapDefinition(kind=pb.CAP_KIND_BUDGET, period=pb.Cadence.ValueType(8))
            ),
            "definition.cap.period",
        ),
        (pb.Definition(), "definition"),
    ],
)
def test_a_bad_value_names_the_proto_field(message: pb.Definition, field: str) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        defs.definition_from_pb(message)

    assert _field_of(excinfo) == field


def test_an_enum_error_lists_the_allowed_values() -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        defs.definition_from_pb(_task(cadence=42))

    assert excinfo.value.rule == "must be one of once, daily, weekly, monthly, date_range"


def test_an_instant_out_of_timestamp_range_names_the_field() -> None:
    message = pb.Definition(badge=pb.BadgeDefinition())
    message.badge.criterion.kind = pb.CRITERION_KIND_STREAK_LENGTH
    message.badge.available_until.seconds = 2**60

    with pytest.raises(InvalidArgument) as excinfo:
        defs.definition_from_pb(message)

    assert _field_of(excinfo) == "definition.badge.available_until"


def test_a_kind_must_be_specified() -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        defs.kind_from_pb(pb.DEFINITION_KIND_UNSPECIFIED)

    assert _field_of(excinfo) == "kind"
    assert defs.kind_from_pb(pb.DEFINITION_KIND_LEVELS) is DefinitionKind.LEVELS


def test_the_level_table_is_found_without_an_id() -> None:
    assert defs.definition_id_from_pb(DefinitionKind.LEVELS, "") == "default"
    assert defs.definition_id_from_pb(DefinitionKind.TASK, "") == ""
    assert defs.definition_id_from_pb(DefinitionKind.TASK, "buy-books") == "buy-books"
