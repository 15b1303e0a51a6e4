"""Background upkeep across replicas: board, rule and program changes reach every catalog."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.boards import definitions as boards
from service.app.check_ins import programs
from service.app.rules import definitions
from service.bootstrap import build_app
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from service.domain.check_in import CheckInProgram
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.definitions import TaskDefinition, TaskTier
from service.entrypoints.board_upkeep import start_board_upkeep
from service.settings import Settings
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

BOARD = BoardDefinition(
    "xp", "XP", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM, TiePolicy.DENSE, PeriodKind.ALL_TIME
)


async def test_a_definition_change_reaches_the_other_replicas(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    writer, reader = build_app(settings, clock), build_app(settings, clock)
    upkeep = start_board_upkeep(reader)
    try:
        await asyncio.wait_for(upkeep.following.wait(), 10)
        await boards.upsert_board(
            BOARD, uow=writer.uow(), catalog=writer.boards.catalog, clock=writer.clock
        )

        async def there() -> bool:
            # The other replica's upkeep may have loaded its catalog before the board existed.
            return "xp" in {board.board_id for board in await reader.boards.catalog.all()}

        await wait_until(there, within=10, what="the new board to reach the other replica")
        assert (await reader.boards.catalog.get("xp")).title == "XP"
        renamed = dataclasses.replace(BOARD, title="Experience")
        await boards.upsert_board(
            renamed, uow=writer.uow(), catalog=writer.boards.catalog, clock=writer.clock
        )

        async def renamed_there() -> bool:
            return (await reader.boards.catalog.get("xp")).title == "Experience"

        await wait_until(renamed_there, within=10, what="the rename to reach the other replica")
    finally:
        await upkeep.stop()
        await writer.close()
        await reader.close()


async def test_a_rule_change_reaches_the_other_replicas(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    writer, reader = build_app(settings, clock), build_app(settings, clock)
    upkeep = start_board_upkeep(reader)
    task = TaskDefinition("buy", "Buy", "purchase", (TaskTier(1),))
    try:
        await asyncio.wait_for(upkeep.following.wait(), 10)
        assert "buy" not in (await reader.rules.catalog.current()).tasks  # loaded, now cached
        await definitions.upsert_definition(task, uow=writer.uow(), rules=writer.rules)

        async def defined_there() -> bool:
            return "buy" in (await reader.rules.catalog.current()).tasks

        await wait_until(defined_there, within=10, what="the task to reach the other replica")
    finally:
        await upkeep.stop()
        await writer.close()
        await reader.close()


async def test_a_program_change_reaches_the_other_replicas(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    writer, reader = build_app(settings, clock), build_app(settings, clock)
    upkeep = start_board_upkeep(reader)
    program = CheckInProgram(version=0, cycle=((Reward(RewardKind.POINTS, 5),),))
    try:
        await asyncio.wait_for(upkeep.following.wait(), 10)
        before = (await reader.programs.current()).version  # loaded, now cached
        stored = await programs.update_program(
            program, uow=writer.uow(), programs=writer.programs, clock=writer.clock
        )
        assert stored.version > before

        async def updated_there() -> bool:
            return (await reader.programs.current()).version == stored.version

        await wait_until(updated_there, within=10, what="the program to reach the other replica")
    finally:
        await upkeep.stop()
        await writer.close()
        await reader.close()
