"""Group commit of SubmitScore: concurrent calls share transactions, never each other's fate."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import leaderboard as lb
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards import definitions as boards
from service.app.boards import exclusions, score_writes, scores
from service.app.boards import reads as board_reads
from service.app.boards.mapping import BoardRef
from service.domain.boards import (
    MAX_SCORE,
    Aggregation,
    BoardDefinition,
    PeriodKind,
    SortOrder,
    TiePolicy,
)
from service.domain.errors import FailedPrecondition, InvalidArgument
from tests.support.clock import MovableClock
from tests.support.units import CountingUnitsOfWork

pytestmark = pytest.mark.integration

TOTAL = BoardDefinition(
    board_id="total",
    title="Total",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.FIRST_TO_REACH,
    period=PeriodKind.ALL_TIME,
    rookie_days=7,
)
BEST = BoardDefinition(
    board_id="best",
    title="Best",
    sort_order=SortOrder.LOWER_IS_BETTER,
    aggregation=Aggregation.MIN,
    tie_policy=TiePolicy.DENSE,
    period=PeriodKind.DAILY,
)


async def _nothing() -> None:
    return None


@pytest.fixture
async def services(
    engine: AsyncEngine, redis_client: redis.Redis, clock: MovableClock, redis_prefix: str
) -> scores.Boards:
    catalog = boards.BoardCatalog(lambda: boards.load_boards(PostgresUnitOfWork(engine)), _nothing)
    found = scores.Boards(catalog, lb.Leaderboards(redis_client, key_prefix=redis_prefix), clock)
    for board in (TOTAL, BEST):
        await boards.upsert_board(
            board, uow=PostgresUnitOfWork(engine), catalog=catalog, clock=clock
        )
    return found


async def _submit_all(
    intake: score_writes.ScoreIntake, cmds: list[scores.SubmitScore]
) -> list[scores.Submitted | BaseException]:
    return await asyncio.gather(*(intake.submit(cmd) for cmd in cmds), return_exceptions=True)


async def test_concurrent_scores_share_transactions_and_sum_exactly(
    engine: AsyncEngine, services: scores.Boards
) -> None:
    units = CountingUnitsOfWork(engine)
    sizes: list[int] = []
    intake = score_writes.ScoreIntake(units, services, on_group=lambda size, _: sizes.append(size))
    cmds = [
        scores.SubmitScore(board, f"m{n % 7}", n, f"k{board}{n}")
        for n in range(60)
        for board in ("total", "best")
    ]

    results = await _submit_all(intake, cmds)

    assert all(isinstance(r, scores.Submitted) and not r.duplicate for r in results)
    assert units.made < len(cmds) / 4
    assert max(sizes) > 1
    _, page = await board_reads.get_page(BoardRef("total"), 1, 10, boards=services)
    expected = {f"m{m}": sum(n for n in range(60) if n % 7 == m) for m in range(7)}
    assert {e.member_id: e.score for e in page.entries} == expected
    _, rookies = await board_reads.get_page(BoardRef("total", rookie=True), 1, 10, boards=services)
    assert {e.member_id: e.score for e in rookies.entries} == expected
    _, best = await board_reads.get_page(BoardRef("best"), 1, 10, boards=services)
    assert [(e.member_id, e.score, e.rank) for e in best.entries] == [
        (f"m{m}", m, m + 1) for m in range(7)
    ]
    last = results[-2]  # m3's last score on the total board: its whole sum and its rank
    assert isinstance(last, scores.Submitted)
    ahead = sum(total > expected["m3"] for total in expected.values())
    assert (last.score, last.rank) == (expected["m3"], ahead + 1)


async def test_one_faulty_score_fails_alone_and_retries_answer_the_first(
    engine: AsyncEngine, services: scores.Boards, clock: MovableClock
) -> None:
    await score_writes.submit_score(
        scores.SubmitScore("total", "big", MAX_SCORE - 5, "big-1"),
        uow=PostgresUnitOfWork(engine), boards=services,
    )  # fmt: skip
    await exclusions.exclude_member(
        "cheat", "testing", uow=PostgresUnitOfWork(engine), boards=services
    )
    intake = score_writes.ScoreIntake(CountingUnitsOfWork(engine), services)
    cmds = [scores.SubmitScore("total", f"ok{n}", 10, f"ok-{n}") for n in range(20)]
    cmds[5] = scores.SubmitScore("total", "big", 10, "big-2")  # beyond 2^53
    cmds[9] = scores.SubmitScore("total", "cheat", 10, "cheat-1")
    cmds[12] = scores.SubmitScore("total", "ok3", 10, "ok-3")  # a retry of cmds[3]
    cmds[15] = scores.SubmitScore("total", "thief", 10, "ok-4")  # another's key

    results = await _submit_all(intake, cmds)

    assert isinstance(results[5], InvalidArgument)
    assert isinstance(results[9], FailedPrecondition)
    assert "excluded" in str(results[9])
    assert isinstance(results[15], FailedPrecondition)
    assert "different submission" in str(results[15])
    retried = results[12]
    assert isinstance(retried, scores.Submitted)
    assert (retried.duplicate, retried.score) == (True, 10)
    fine = [r for n, r in enumerate(results) if n not in (5, 9, 12, 15)]
    assert all(isinstance(r, scores.Submitted) and r.score == 10 for r in fine)
    async with engine.connect() as conn:
        ledger = await conn.execute(
            sa.text("select member_id from score_ledger where board_id = 'total'")
        )
        members = sorted(row.member_id for row in ledger)
    assert members == sorted(["big", *(f"ok{n}" for n in range(20) if n not in (5, 9, 12, 15))])
    _, found = await board_reads.get_rank(BoardRef("total"), "big", boards=services)
    assert found is not None
    assert found.score == MAX_SCORE - 5


async def test_a_score_for_a_final_period_fails_alone(
    engine: AsyncEngine, services: scores.Boards
) -> None:
    first = scores.SubmitScore("best", "early", 5, "early-1")
    await score_writes.submit_score(first, uow=PostgresUnitOfWork(engine), boards=services)
    async with engine.begin() as conn:  # as an early FinalizePeriod leaves it
        await conn.execute(
            sa.text(
                "insert into board_periods (board_id, partition, period_id, rookie, board_version,"
                " members) select board_id, partition, period_id, rookie, 1, 1 from board_scores"
                " where board_id = 'best'"
            )
        )
    intake = score_writes.ScoreIntake(CountingUnitsOfWork(engine), services)
    late = scores.SubmitScore("best", "late", 3, "late-1")
    other = scores.SubmitScore("total", "late", 4, "late-2")

    results = await _submit_all(intake, [late, other])

    assert isinstance(results[0], FailedPrecondition)
    assert "is final" in str(results[0])
    assert isinstance(results[1], scores.Submitted)
    assert results[1].score == 4


async def test_a_refused_or_retried_score_writes_nothing(
    engine: AsyncEngine, services: scores.Boards, clock: MovableClock
) -> None:
    first = scores.SubmitScore("total", "ann", 5, "k-1")
    await score_writes.submit_score(first, uow=PostgresUnitOfWork(engine), boards=services)
    intake = score_writes.ScoreIntake(CountingUnitsOfWork(engine), services)
    earlier = clock.now() - dt.timedelta(days=1)
    cmds = [
        scores.SubmitScore("total", "bob", 7, "k-2"),
        scores.SubmitScore("total", "cy", 7, "k-2"),  # bob's key, in the same group
        scores.SubmitScore("total", "dee", 7, "k-1"),  # ann's key, from an earlier call
        scores.SubmitScore("total", "ann", 5, "k-1", occurred_at=earlier),  # ann's retry
    ]

    results = await _submit_all(intake, cmds)

    assert isinstance(results[0], scores.Submitted)
    assert not results[0].duplicate
    assert isinstance(results[1], FailedPrecondition)
    assert isinstance(results[2], FailedPrecondition)
    assert isinstance(results[3], scores.Submitted)
    assert (results[3].duplicate, results[3].score) == (True, 5)
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("select member_id, first_seen_at from board_members"))
        seen = {row.member_id: row.first_seen_at for row in rows}
    assert set(seen) == {"ann", "bob"}
    assert seen["ann"] == clock.now()  # the retry's earlier instant moved nothing
