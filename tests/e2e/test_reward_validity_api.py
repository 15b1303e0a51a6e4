"""Rewards' valid_days through every definition that holds rewards: stored, read back, checked."""

from __future__ import annotations

import grpc
import pytest

from service.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as program_grpc
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import rewards_pb2 as rewards
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from service.protobuf_time import timestamp
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

COUPON = rewards.Reward(
    kind=rewards.REWARD_KIND_COUPON, amount=1, item_code="spring", valid_days=14
)


def _program(reward: rewards.Reward) -> program_pb.CheckInProgram:
    return program_pb.CheckInProgram(cycle=[program_pb.CycleDay(rewards=[reward])])


async def test_valid_days_are_stored_with_each_definition_and_carried_onto_grants(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    programs = program_grpc.CheckInAdminServiceStub(channel)
    await programs.UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=_program(COUPON))
    )
    task = defs.TaskDefinition(
        task_id="t", title="T", event_type="e", measure=defs.MEASURE_COUNT,
        cadence=defs.CADENCE_ONCE, tiers=[defs.TaskTier(target=1, rewards=[COUPON])],
    )  # fmt: skip
    rules = rules_grpc.RulesAdminServiceStub(channel)
    await rules.UpsertDefinition(
        rules_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )
    board = board_pb.Board(
        board_id="b", title="B", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_DENSE,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_DAILY), timezone="UTC",
        rewards=[board_pb.RankReward(first_rank=1, last_rank=1, rewards=[COUPON])],
    )  # fmt: skip
    boards = board_grpc.LeaderboardAdminServiceStub(channel)
    await boards.UpsertBoard(board_pb.UpsertBoardRequest(board=board))

    program = await programs.GetCheckInProgram(program_pb.GetCheckInProgramRequest())
    stored_task = await rules.GetDefinition(
        rules_pb.GetDefinitionRequest(kind=defs.DEFINITION_KIND_TASK, definition_id="t")
    )
    stored_board = await boards.GetBoard(board_pb.GetBoardRequest(board_id="b"))
    checked_in = await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="ann", timezone="UTC")
    )

    assert program.program.cycle[0].rewards[0].valid_days == 14
    assert stored_task.definition.task.tiers[0].rewards[0].valid_days == 14
    assert stored_board.board.rewards[0].rewards[0].valid_days == 14
    (grant,) = checked_in.grants
    assert grant.reward.valid_days == 14
    assert grant.expires_at == timestamp(clock.now().replace(day=24))


def _item(valid_days: int) -> rewards.Reward:
    return rewards.Reward(
        kind=rewards.REWARD_KIND_ITEM, amount=1, item_code="x", valid_days=valid_days
    )


@pytest.mark.parametrize(
    ("reward", "rule"),
    [
        (
            rewards.Reward(kind=rewards.REWARD_KIND_POINTS, amount=5, valid_days=3),
            "coupons and items",
        ),
        (_item(-1), "between"),
        (_item(3651), "between"),
    ],
)
async def test_a_validity_is_refused_outside_its_range_or_kinds(
    channel: grpc.aio.Channel, reward: rewards.Reward, rule: str
) -> None:
    programs = program_grpc.CheckInAdminServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await programs.UpdateCheckInProgram(
            program_pb.UpdateCheckInProgramRequest(program=_program(reward))
        )
    stored = await programs.GetCheckInProgram(program_pb.GetCheckInProgramRequest())

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = str(raised.value.details())
    assert details.startswith("program.cycle[0].rewards[0].valid_days")
    assert rule in details
    assert stored.program.version == 0
