"""Leaderboard handlers on real Postgres and Redis: ledger, ranks, finalisation, rebuild."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import leaderboard as lb
from service.adapters.postgres.boards.tables import score_ledger
from service.adapters.postgres.tables import grant_outbox
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards import definitions as boards
from service.app.boards import periods as board_periods
from service.app.boards import reads as board_reads
from service.app.boards import score_writes, scores
from service.app.boards.mapping import BoardRef
from service.domain.boards import (
    Aggregation,
    BoardDefinition,
    PeriodKind,
    RankReward,
    SortOrder,
    TiePolicy,
)
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from service.domain.rewards import Reward, RewardKind
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

DAILY = BoardDefinition(
    board_id="daily",
    title="Daily stars",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.COMPETITION,
    period=PeriodKind.DAILY,
    timezone="America/New_York",
    rewards=(
        RankReward(1, 1, (Reward(RewardKind.POINTS, 100),)),
        RankReward(2, 3, (Reward(RewardKind.POINTS, 50),)),
    ),
    finalize_grace_seconds=60,
)


async def _nothing() -> None:
    return None


@pytest.fixture
def uow(engine: AsyncEngine) -> PostgresUnitOfWork:
    return PostgresUnitOfWork(engine)


@pytest.fixture
def services(
    engine: AsyncEngine, redis_client: redis.Redis, clock: MovableClock, redis_prefix: str
) -> scores.Boards:
    catalog = boards.BoardCatalog(lambda: boards.load_boards(PostgresUnitOfWork(engine)), _nothing)
    redis_boards = lb.Leaderboards(redis_client, key_prefix=redis_prefix)
    return scores.Boards(catalog, redis_boards, clock)


async def _define(board: BoardDefinition, services: scores.Boards, uow: PostgresUnitOfWork) -> None:
    await boards.upsert_board(board, uow=uow, catalog=services.catalog, clock=services.clock)


async def _submit(
    services: scores.Boards, uow: PostgresUnitOfWork, member: str, value: int, **extra: object
) -> scores.Submitted:
    board_id = str(extra.pop("board_id", "daily"))
    key = str(extra.pop("key", uuid.uuid4().hex))
    cmd = scores.SubmitScore(board_id, member, value, key, **extra)  # type: ignore[arg-type]
    return await score_writes.submit_score(cmd, uow=uow, boards=services)


def _ranks(entries: Sequence[lb.Entry]) -> list[tuple[str, int, int]]:
    return [(e.member_id, e.score, e.rank) for e in entries]


async def test_scores_rank_by_the_tie_policy_and_a_retry_counts_once(
    services: scores.Boards, uow: PostgresUnitOfWork, clock: MovableClock
) -> None:
    await _define(DAILY, services, uow)
    await _submit(services, uow, "ann", 30, key="k1")
    clock.advance(seconds=1)
    await _submit(services, uow, "bob", 50)
    clock.advance(seconds=1)
    await _submit(services, uow, "cy", 30)
    retry = await _submit(services, uow, "ann", 30, key="k1")

    _, page = await board_reads.get_page(BoardRef("daily"), 1, 10, boards=services)

    assert retry.duplicate
    assert retry.score == 30
    assert _ranks(page.entries) == [("bob", 50, 1), ("ann", 30, 2), ("cy", 30, 2)]


async def test_a_retry_answers_the_current_standing_in_the_period_the_score_counted_in(
    services: scores.Boards, uow: PostgresUnitOfWork, engine: AsyncEngine, clock: MovableClock
) -> None:
    await _define(DAILY, services, uow)
    first = await _submit(services, uow, "ann", 30, key="k1")
    await _submit(services, uow, "bob", 50)
    await _submit(services, uow, "ann", 40, key="k2")  # ann's total is 70 now
    clock.advance(days=1)  # a retry without occurred_at, arriving in the next period

    retry = await _submit(services, uow, "ann", 30, key="k1")
    with pytest.raises(FailedPrecondition, match="different submission"):
        await _submit(services, uow, "ann", 31, key="k1")

    assert (first.score, first.rank, first.duplicate) == (30, 1, False)
    assert (retry.period_id, retry.score, retry.rank, retry.duplicate) == (
        first.period_id, 70, 1, True,
    )  # fmt: skip
    async with engine.connect() as conn:
        ledger = await conn.execute(sa.select(sa.func.count()).select_from(score_ledger))
        assert ledger.scalar_one() == 3


async def test_fifty_concurrent_submissions_sum_exactly(
    services: scores.Boards, engine: AsyncEngine
) -> None:
    await _define(DAILY, services, PostgresUnitOfWork(engine))

    await asyncio.gather(
        *(_submit(services, PostgresUnitOfWork(engine), "dee", 7) for _ in range(50))
    )

    _, found = await board_reads.get_rank(BoardRef("daily"), "dee", boards=services)
    assert found is not None
    assert found.score == 350


async def test_the_period_follows_the_board_timezone(
    services: scores.Boards, uow: PostgresUnitOfWork, clock: MovableClock
) -> None:
    await _define(DAILY, services, uow)
    clock.current = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
    # 03:30 UTC on 10 March is still 9 March in New York (UTC-5 until the DST change).
    late = await _submit(
        services, uow, "eve", 1, occurred_at=dt.datetime(2026, 3, 10, 3, 30, tzinfo=dt.UTC)
    )
    clock.current = dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC)
    early = await _submit(services, uow, "eve", 1)

    assert (late.period_id, early.period_id) == ("d2026-03-09", "d2026-03-10")


async def test_finalising_grants_once_and_closes_the_period(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)
    for member, value in (("ann", 10), ("bob", 30), ("cy", 10), ("dee", 5)):
        await _submit(services, uow, member, value)
    ref = BoardRef("daily", period_id="d2026-03-10")

    with pytest.raises(FailedPrecondition, match="still open"):
        await board_periods.finalize_period(ref, uow=uow, boards=services)
    clock.current = dt.datetime(2026, 3, 11, 4, 1, 1, tzinfo=dt.UTC)  # midnight NY + grace
    first = await board_periods.finalize_period(ref, uow=uow, boards=services)
    again = await board_periods.finalize_period(ref, uow=uow, boards=services)
    standings = await board_reads.get_standings(ref, 1, 10, uow=uow, boards=services)

    assert (first.members, first.grants, first.already_final) == (4, 3, False)
    assert again.already_final
    assert standings.final
    assert _ranks(standings.entries) == [
        ("bob", 30, 1),
        ("ann", 10, 2),
        ("cy", 10, 2),
        ("dee", 5, 4),
    ]
    async with engine.connect() as conn:
        granted = (
            await conn.execute(sa.select(grant_outbox.c.user_id, grant_outbox.c.amount))
        ).all()
    assert sorted(granted) == [("ann", 50), ("bob", 100), ("cy", 50)]
    with pytest.raises(FailedPrecondition, match="closed"):
        await _submit(
            services, uow, "late", 1, occurred_at=dt.datetime(2026, 3, 10, 20, tzinfo=dt.UTC)
        )


async def test_a_flushed_board_rebuilds_rank_for_rank(
    services: scores.Boards, uow: PostgresUnitOfWork, clock: MovableClock, redis_client: redis.Redis
) -> None:
    board = BoardDefinition(
        "race", "Race", SortOrder.LOWER_IS_BETTER, Aggregation.MIN, TiePolicy.FIRST_TO_REACH,
        PeriodKind.ALL_TIME,
    )  # fmt: skip
    await _define(board, services, uow)
    for i in range(60):
        clock.advance(milliseconds=1)
        await _submit(services, uow, f"m{i % 23}", 1000 - (i * 37) % 101, board_id="race")
    ref = BoardRef("race")
    _, before = await board_reads.get_page(ref, 1, 100, boards=services)

    await redis_client.delete(
        *[k async for k in redis_client.scan_iter(f"{{{services.redis.key_prefix}:*")]
    )
    _, empty = await board_reads.get_page(ref, 1, 100, boards=services)
    _, members = await board_periods.rebuild_board(ref, uow=uow, boards=services)
    _, after = await board_reads.get_page(ref, 1, 100, boards=services)

    assert empty.member_count == 0
    assert members == 23
    assert _ranks(after.entries) == _ranks(before.entries)


async def test_rookie_and_partitioned_boards(
    services: scores.Boards, uow: PostgresUnitOfWork, clock: MovableClock
) -> None:
    board = BoardDefinition(
        "regional", "Regional", SortOrder.HIGHER_IS_BETTER, Aggregation.MAX,
        TiePolicy.DENSE, PeriodKind.ALL_TIME, rookie_days=7, partition_attribute="region",
    )  # fmt: skip
    await _define(board, services, uow)
    await _submit(services, uow, "old", 10, board_id="regional", partition="eu")
    clock.advance(days=8)
    await _submit(services, uow, "old", 40, board_id="regional", partition="eu")
    await _submit(services, uow, "new", 20, board_id="regional", partition="eu")
    await _submit(services, uow, "far", 99, board_id="regional", partition="us")

    _, main = await board_reads.get_page(BoardRef("regional", "eu"), 1, 10, boards=services)
    _, rookies = await board_reads.get_page(
        BoardRef("regional", "eu", rookie=True), 1, 10, boards=services
    )

    assert _ranks(main.entries) == [("old", 40, 1), ("new", 20, 2)]
    # Scores count on the rookie board only while the member is within 7 days of its first.
    assert _ranks(rookies.entries) == [("new", 20, 1), ("old", 10, 2)]
    with pytest.raises(InvalidArgument, match="partition"):
        await _submit(services, uow, "x", 1, board_id="regional")


async def test_a_failed_redis_copy_is_queued_and_repaired(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    offline = scores.Boards(
        services.catalog, lb.Leaderboards(broken, key_prefix=services.redis.key_prefix), clock
    )

    accepted = await _submit(offline, uow, "fay", 12)
    repaired = await board_periods.repair(uow=uow, boards=services)
    _, found = await board_reads.get_rank(BoardRef("daily"), "fay", boards=services)
    await broken.aclose()

    assert (accepted.score, accepted.rank) == (12, 0)
    assert repaired == 1
    assert found is not None
    assert found.score == 12


async def test_bad_submissions_are_refused_and_store_nothing(
    services: scores.Boards, engine: AsyncEngine
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)

    with pytest.raises(NotFound):
        await _submit(services, uow, "ann", 1, board_id="nope")
    with pytest.raises(InvalidArgument, match="value"):
        await _submit(services, uow, "ann", 2**53 + 1)
    with pytest.raises(InvalidArgument, match="occurred_at"):
        await _submit(services, uow, "ann", 1, occurred_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidArgument, match="occurred_at"):
        await _submit(services, uow, "ann", 1, occurred_at=dt.datetime(1969, 12, 31, tzinfo=dt.UTC))
    await _submit(services, uow, "ann", 2**53)
    with pytest.raises(InvalidArgument, match="beyond"):
        await _submit(services, uow, "ann", 1)

    async with engine.connect() as conn:
        ledger = (await conn.execute(sa.select(sa.func.count()).select_from(score_ledger))).scalar()
    assert ledger == 1


async def test_due_periods_are_finalised_once_by_the_scheduler(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)
    await _submit(services, uow, "ann", 3)
    assert await board_periods.finalize_due(uow=uow, boards=services) == 0

    clock.current = dt.datetime(2026, 3, 11, 4, 2, tzinfo=dt.UTC)  # after midnight NY + grace
    first = await board_periods.finalize_due(uow=uow, boards=services)
    second = await board_periods.finalize_due(uow=uow, boards=services)

    assert (first, second) == (1, 0)


async def test_a_board_keeps_its_sort_order_and_tie_policy(
    services: scores.Boards, uow: PostgresUnitOfWork
) -> None:
    await _define(DAILY, services, uow)
    await _define(dataclasses.replace(DAILY, title="Renamed", retention_periods=3), services, uow)

    with pytest.raises(FailedPrecondition, match="tie_policy"):
        await _define(dataclasses.replace(DAILY, tie_policy=TiePolicy.DENSE), services, uow)
    assert (await services.catalog.get("daily")).title == "Renamed"


async def test_a_running_season_never_blocks_other_boards_finalisation(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    season = BoardDefinition(
        "season", "Season", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM, TiePolicy.DENSE,
        PeriodKind.SEASON, season_start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        season_end=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    await _define(season, services, uow)
    await _define(DAILY, services, uow)
    await _submit(services, uow, "ann", 3, board_id="season")
    await _submit(services, uow, "ann", 3)

    clock.current = dt.datetime(2026, 3, 11, 4, 2, tzinfo=dt.UTC)
    assert (
        await board_periods.finalize_due(uow=uow, boards=services) == 1
    )  # the day, not the season
    clock.current = dt.datetime(2026, 4, 1, 0, 1, tzinfo=dt.UTC)
    assert await board_periods.finalize_due(uow=uow, boards=services) == 1  # now the season


async def test_a_rookie_board_is_finalised_without_rewards(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(dataclasses.replace(DAILY, board_id="rookies", rookie_days=7), services, uow)
    await _submit(services, uow, "new", 5, board_id="rookies")
    clock.current = dt.datetime(2026, 3, 11, 4, 2, tzinfo=dt.UTC)

    ref = BoardRef("rookies", rookie=True, period_id="d2026-03-10")
    rookie = await board_periods.finalize_period(ref, uow=uow, boards=services)
    main = await board_periods.finalize_period(
        dataclasses.replace(ref, rookie=False), uow=uow, boards=services
    )

    assert (rookie.members, rookie.grants) == (1, 0)
    assert (main.members, main.grants) == (1, 1)


async def test_a_reused_idempotency_key_must_name_the_same_submission(
    services: scores.Boards, uow: PostgresUnitOfWork
) -> None:
    await _define(DAILY, services, uow)
    await _submit(services, uow, "ann", 5, key="once")

    with pytest.raises(FailedPrecondition, match="different submission"):
        await _submit(services, uow, "ann", 6, key="once")
    with pytest.raises(FailedPrecondition, match="different submission"):
        await _submit(services, uow, "bob", 5, key="once")


async def test_days_missed_while_down_are_all_finalised(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)
    await _submit(services, uow, "ann", 1)
    clock.advance(days=1)
    await _submit(services, uow, "ann", 2)

    clock.advance(days=3)

    assert await board_periods.finalize_due(uow=uow, boards=services) == 2


async def test_a_removal_that_misses_redis_is_repaired_and_the_member_can_return(
    services: scores.Boards, engine: AsyncEngine, clock: MovableClock
) -> None:
    uow = PostgresUnitOfWork(engine)
    await _define(DAILY, services, uow)
    for _ in range(3):
        await _submit(services, uow, "ann", 4)
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    offline = scores.Boards(
        services.catalog, lb.Leaderboards(broken, key_prefix=services.redis.key_prefix), clock
    )

    with pytest.raises(redis.ConnectionError):
        await board_periods.remove_member(BoardRef("daily"), "ann", uow=uow, boards=offline)
    await broken.aclose()
    await board_periods.repair(uow=uow, boards=services)
    with pytest.raises(NotFound):
        await board_reads.get_rank(BoardRef("daily"), "ann", boards=services)
    await _submit(services, uow, "ann", 1)
    _, back = await board_reads.get_rank(BoardRef("daily"), "ann", boards=services)

    assert back.score == 1
