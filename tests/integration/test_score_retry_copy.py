"""A score whose first call died between its commit and its Redis copy reaches the board on
the retry."""

from __future__ import annotations

import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

import leaderboard as lb
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards import definitions as boards
from service.app.boards import reads as board_reads
from service.app.boards import score_writes, scores
from service.app.boards.mapping import BoardRef
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

BOARD = BoardDefinition(
    "xp", "XP", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM, TiePolicy.FIRST_TO_REACH,
    PeriodKind.ALL_TIME,
)  # fmt: skip


async def _nothing() -> None:
    return None


async def test_a_retry_copies_a_score_whose_first_call_died_before_its_redis_copy(
    engine: AsyncEngine, redis_client: redis.Redis, clock: MovableClock, redis_prefix: str
) -> None:
    uow = PostgresUnitOfWork(engine)
    catalog = boards.BoardCatalog(lambda: boards.load_boards(PostgresUnitOfWork(engine)), _nothing)
    services = scores.Boards(catalog, lb.Leaderboards(redis_client, key_prefix=redis_prefix), clock)
    await boards.upsert_board(BOARD, uow=uow, catalog=catalog, clock=clock)
    await score_writes.submit_score(
        scores.SubmitScore("xp", "ann", 50, "a1"), uow=uow, boards=services
    )
    cmd = scores.SubmitScore("xp", "gus", 25, "g1")
    # What a process killed right after its commit leaves behind: no Redis copy, no repair.
    async with uow:
        await score_writes.record_submissions(uow, [scores.submission(cmd, BOARD, clock.now())])
        await uow.commit()

    retry = await score_writes.submit_score(cmd, uow=uow, boards=services)
    _, found = await board_reads.get_rank(BoardRef("xp"), "gus", boards=services)

    assert (retry.duplicate, retry.score, retry.rank) == (True, 25, 2)
    assert (found.score, found.rank) == (25, 2)
