"""The game the fault cases play, defined through the API, and what Postgres says happened."""

from __future__ import annotations

from collections import Counter
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as program_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc

BOARD = "faults"
EVENT_TYPE = "order.paid"
TASK = "orders"
POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
REF = board_pb.BoardRef(board_id=BOARD)


async def define_program(channel: grpc.aio.Channel) -> None:
    """Every check-in grants 10 points."""
    program = program_pb.CheckInProgram(cycle=[program_pb.CycleDay(rewards=[POINTS])])
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )


async def define_task(channel: grpc.aio.Channel) -> None:
    """Every paid order completes the repeatable task once and grants 10 points."""
    task = defs.TaskDefinition(
        task_id=TASK, title="Orders", event_type=EVENT_TYPE, measure=defs.MEASURE_COUNT,
        tiers=[defs.TaskTier(target=1, rewards=[POINTS])], repeatable=True,
    )  # fmt: skip
    await rules_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        rules_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )


async def define_board(channel: grpc.aio.Channel) -> None:
    """An all-time board summing scores; whoever reached a score first ranks higher."""
    board = board_pb.Board(
        board_id=BOARD, title="Faults", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
    )  # fmt: skip
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=board)
    )


async def counts(engine: AsyncEngine, sql: str, **params: Any) -> Counter[str]:
    """Rows per key, for a query selecting one key column per row."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(sql), params)).scalars().all()
    return Counter(str(row) for row in rows)


async def check_ins(engine: AsyncEngine) -> Counter[str]:
    return await counts(engine, "select user_id from check_ins")


async def events(engine: AsyncEngine) -> Counter[str]:
    return await counts(engine, "select idempotency_key from rule_events")


async def scores(engine: AsyncEngine) -> Counter[str]:
    return await counts(
        engine, "select idempotency_key from score_ledger where board_id = :b", b=BOARD
    )


async def grants(engine: AsyncEngine) -> Counter[str]:
    """Grants in the outbox by cause: one check-in or one event causes one grant here."""
    return await counts(engine, "select cause_ref from grant_outbox")


async def board_truth(engine: AsyncEngine) -> list[tuple[str, int]]:
    """The board's members and scores from Postgres, in rank order (first to reach wins)."""
    sql = (
        "select member_id, score from board_scores where board_id = :b and not rookie "
        "order by score desc, reached_at_ms, convert_to(member_id, 'UTF8')"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(sql), {"b": BOARD})).all()
    return [(str(member), int(score)) for member, score in rows]


async def board_served(channel: grpc.aio.Channel) -> list[tuple[str, int, int]]:
    """The whole board as GetLeaderboard serves it: (member, score, rank) in rank order."""
    stub = board_grpc.LeaderboardServiceStub(channel)
    entries: list[tuple[str, int, int]] = []
    page = 1
    while True:
        response = await stub.GetLeaderboard(
            board_pb.GetLeaderboardRequest(board=REF, page=page, page_size=1000), timeout=10
        )
        entries += [(e.member_id, e.score, e.rank) for e in response.entries]
        if len(response.entries) < 1000:
            return entries
        page += 1


def ranked(truth: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    return [(member, score, rank) for rank, (member, score) in enumerate(truth, start=1)]


def extra(found: Counter[str]) -> int:
    """Effects beyond the first of each key."""
    return sum(n - 1 for n in found.values() if n > 1)


async def check_in_grants(engine: AsyncEngine) -> Counter[str]:
    """Check-in grants by user."""
    return await counts(
        engine, "select user_id from grant_outbox where cause_ref like 'check_in:%'"
    )


async def event_grants(engine: AsyncEngine) -> Counter[str]:
    """The task's grants by the idempotency key of the event that caused them."""
    prefix = f"task:{TASK}/event:"
    found = await counts(engine, "select cause_ref from grant_outbox where cause_ref like 'task:%'")
    return Counter({ref.removeprefix(prefix): n for ref, n in found.items()})
