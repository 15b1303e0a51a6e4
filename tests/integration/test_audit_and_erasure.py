"""The audit log and user erasure on real Postgres and Redis, through the handlers."""

from __future__ import annotations

import dataclasses

import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import leaderboard as lb
from service.adapters.postgres.boards.tables import board_repairs
from service.adapters.postgres.privacy_repository import USER_TABLES
from service.adapters.postgres.schema import metadata
from service.app.audit import AuditFilter, ListAudit, list_entries
from service.app.boards import definitions as boards
from service.app.boards import periods as board_periods
from service.app.boards import reads as board_reads
from service.app.boards import score_writes, scores
from service.app.boards.mapping import BoardRef
from service.app.privacy import handlers as privacy
from service.bootstrap import App
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from service.domain.errors import FailedPrecondition, NotFound
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.caller import Caller, reset_caller, set_caller
from tests.support.privacy_scan import postgres_mentions, redis_mentions

pytestmark = pytest.mark.integration

DAILY = BoardDefinition(
    board_id="daily",
    title="Daily",
    sort_order=SortOrder.HIGHER_IS_BETTER,
    aggregation=Aggregation.SUM,
    tie_policy=TiePolicy.DENSE,
    period=PeriodKind.DAILY,
    timezone="UTC",
    rookie_days=3,
)


async def _entries(app: App, **where: str) -> list[tuple[str, str, str]]:
    query = ListAudit(AuditFilter(**where))  # type: ignore[arg-type]
    page = await list_entries(query, uow=app.reader(), tokens=app.page_tokens)
    return [(e.actor, e.request_id, e.change.rpc) for e in page.entries]


def test_every_table_naming_a_user_is_erased() -> None:
    """A new table with a user_id or member_id column must join the privacy repository."""
    naming = {t.name for t in metadata.sorted_tables if {"user_id", "member_id"} & set(t.c.keys())}
    assert naming == {table.name for table, _ in USER_TABLES}


async def test_the_caller_becomes_the_actor_of_a_change(app: App) -> None:
    token = set_caller(Caller("ops-jane", frozenset({"ops"}), "req-42"))
    try:
        actor = current_actor()
    finally:
        reset_caller(token)

    await boards.upsert_board(
        DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock, actor=actor
    )

    assert await _entries(app, actor="ops-jane") == [
        ("ops-jane", "req-42", "LeaderboardAdminService/UpsertBoard")
    ]


async def test_a_refused_change_leaves_no_entry(app: App) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    weekly = dataclasses.replace(DAILY, period=PeriodKind.WEEKLY)

    with pytest.raises(FailedPrecondition):
        await boards.upsert_board(
            weekly, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock
        )

    assert await _entries(app) == [("system", "", "LeaderboardAdminService/UpsertBoard")]


async def test_an_erasure_that_misses_redis_commits_and_the_repair_pass_finishes_it(
    app: App, engine: AsyncEngine, redis_client: redis.Redis, redis_prefix: str
) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    for member, key in [("gone", "k1"), ("stays", "k2")]:
        submit = scores.SubmitScore("daily", member, 7, key)
        await score_writes.submit_score(submit, uow=app.uow(), boards=app.boards)
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    offline = dataclasses.replace(
        app.boards, redis=lb.Leaderboards(broken, key_prefix=redis_prefix)
    )

    cmd = privacy.DeleteUserData("gone", "erasure request 7")
    erasure = await privacy.delete_user_data(cmd, uow=app.uow(), boards=offline)
    await broken.aclose()
    async with engine.connect() as conn:
        queued = await conn.scalar(sa.select(sa.func.count()).select_from(board_repairs))
    still_in_redis = await redis_mentions(redis_client, redis_prefix, "gone")
    await board_periods.repair(uow=app.uow(), boards=app.boards)

    assert (erasure.changed, len(erasure.board_keys), queued) == (True, 2, 2)
    assert still_in_redis
    assert await postgres_mentions(engine, "gone") == []
    assert await redis_mentions(redis_client, redis_prefix, "gone") == []
    _, kept = await board_reads.get_rank(BoardRef("daily"), "stays", boards=app.boards)
    assert kept is not None
    assert kept.rank == 1
    with pytest.raises(NotFound, match="gone"):
        await privacy.export_user_data("gone", uow=app.reader())


async def test_calling_again_finishes_an_erasure_that_missed_redis(
    app: App, engine: AsyncEngine, redis_client: redis.Redis, redis_prefix: str
) -> None:
    await boards.upsert_board(DAILY, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    await score_writes.submit_score(
        scores.SubmitScore("daily", "gone", 7, "k1"), uow=app.uow(), boards=app.boards
    )
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    offline = dataclasses.replace(
        app.boards, redis=lb.Leaderboards(broken, key_prefix=redis_prefix)
    )
    cmd = privacy.DeleteUserData("gone", "erasure request 7")
    await privacy.delete_user_data(cmd, uow=app.uow(), boards=offline)
    await broken.aclose()

    again = await privacy.delete_user_data(cmd, uow=app.uow(), boards=app.boards)

    assert (again.changed, len(again.board_keys)) == (False, 2)
    assert await postgres_mentions(engine, "gone") == []
    assert await redis_mentions(redis_client, redis_prefix, "gone") == []
    assert [rpc for *_, rpc in await _entries(app, target_kind="user")] == [
        "PrivacyAdminService/DeleteUserData"
    ]
