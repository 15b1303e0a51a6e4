"""Boards whose Redis copy was lost heal from Postgres: never a wrong rank, no operator needed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import redis.asyncio as redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.boards import periods as board_periods
from service.app.boards.mapping import redis_board
from service.app.boards.ports import BoardKey
from service.bootstrap import App, build_app
from service.entrypoints.board_upkeep import heal_boards, start_board_upkeep, verify_boards
from service.entrypoints.grpc_api.server import start_server
from service.gen.engagement.v1 import audit_pb2, audit_pb2_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

BOARD = pb.Board(
    board_id="spend",
    title="Spend",
    sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
    aggregation=pb.AGGREGATION_SUM,
    tie_policy=pb.TIE_POLICY_COMPETITION,
    period=pb.Period(kind=pb.PERIOD_KIND_DAILY),
    timezone="UTC",
    retention_periods=2,
    rookie_days=7,
    partition_attribute="region",
    finalize_grace_seconds=60,
)
# Day one is finalised and retained; day two is running.
DAY_ONE = [("eu", "whale", 18_000), ("eu", "ann", 50), ("eu", "bob", 50), ("us", "cy", 7)]
DAY_TWO = [("eu", "whale", 100), ("eu", "dan", 30), ("us", "cy", 5), ("us", "eve", 9)]
Snapshot = dict[tuple[str, bool, str], list[tuple[str, int, int]]]


@pytest.fixture
def clock() -> MovableClock:
    # Redis applies retention deadlines by its own clock, so the test's starts at the real now.
    return MovableClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@dataclass
class Scene:
    """The served app, its stores and a client; `lose()` is what Redis losing its data does."""

    channel: grpc.aio.Channel
    app: App
    clock: MovableClock
    redis: redis.Redis
    prefix: str

    @property
    def stub(self) -> pb_grpc.LeaderboardServiceAsyncStub:
        return pb_grpc.LeaderboardServiceStub(self.channel)

    async def play(self) -> list[pb.BoardRef]:
        return await play(self.channel, self.app, self.clock)

    async def lose(self) -> None:
        await lose_redis_copies(self.redis, self.prefix)


@pytest.fixture
def scene(
    channel: grpc.aio.Channel, app: App, clock: MovableClock, redis_client: redis.Redis,
    redis_prefix: str,
) -> Scene:  # fmt: skip
    return Scene(channel, app, clock, redis_client, redis_prefix)


async def _submit(
    stub: pb_grpc.LeaderboardServiceAsyncStub, rows: list[tuple[str, str, int]], day: str
) -> str:
    period = ""
    for n, (region, member, value) in enumerate(rows):
        request = pb.SubmitScoreRequest(
            board_id="spend", member_id=member, value=value, partition=region,
            idempotency_key=f"{day}-{n}",
        )  # fmt: skip
        period = (await stub.SubmitScore(request)).period_id
    return period


async def play(channel: grpc.aio.Channel, app: App, clock: MovableClock) -> list[pb.BoardRef]:
    """Two days of scores in two partitions, day one finalised; every board-period's ref."""
    await pb_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        pb.UpsertBoardRequest(board=BOARD)
    )
    stub = pb_grpc.LeaderboardServiceStub(channel)
    first = await _submit(stub, DAY_ONE, "d1")
    clock.advance(days=1)
    assert await board_periods.finalize_due(uow=app.uow(), boards=app.boards) == 4
    second = await _submit(stub, DAY_TWO, "d2")
    return [
        pb.BoardRef(board_id="spend", partition=region, rookie=rookie, period_id=period)
        for period in (first, second)
        for region in ("eu", "us")
        for rookie in (False, True)
    ]


async def snapshot(stub: pb_grpc.LeaderboardServiceAsyncStub, refs: list[pb.BoardRef]) -> Snapshot:
    found: Snapshot = {}
    for ref in refs:
        page = await stub.GetLeaderboard(pb.GetLeaderboardRequest(board=ref, page_size=100))
        entries = [(e.member_id, e.score, e.rank) for e in page.entries]
        found[(ref.partition, ref.rookie, ref.period_id)] = entries
    return found


async def lose_redis_copies(client: redis.Redis, prefix: str) -> None:
    """What a FLUSHALL or a restart without persistence does to this test's keys (the shared
    test server holds other tests' keys, so this test deletes only its own)."""
    keys = [key async for key in client.scan_iter(match=f"*{prefix}*", count=1000)]
    assert keys
    await client.unlink(*keys)


def _key(ref: pb.BoardRef) -> BoardKey:
    return BoardKey(ref.board_id, ref.partition, ref.period_id, ref.rookie)


async def all_loaded(app: App, refs: list[pb.BoardRef]) -> bool:
    board = await app.boards.catalog.get("spend")
    copies = [redis_board(app.boards.redis, board, _key(ref)) for ref in refs]
    return all(await app.boards.redis.loaded(copies))


EXPECTED_DAY_TWO_EU = [("whale", 100, 1), ("dan", 30, 2)]


async def test_reads_after_redis_lost_the_boards_answer_what_postgres_holds(scene: Scene) -> None:
    refs = await scene.play()
    before = await snapshot(scene.stub, refs)
    assert before[("eu", False, refs[0].period_id)] == [
        ("whale", 18000, 1),
        ("ann", 50, 2),
        ("bob", 50, 2),
    ]
    assert before[("eu", False, refs[4].period_id)] == EXPECTED_DAY_TWO_EU

    await scene.lose()

    assert await snapshot(scene.stub, refs) == before
    current = pb.BoardRef(board_id="spend", partition="us")
    rank = await scene.stub.GetRank(pb.GetRankRequest(board=current, member_id="cy"))
    assert (rank.entry.rank, rank.entry.score, rank.total_members) == (2, 5, 2)


async def test_a_score_after_the_loss_never_claims_a_rank_from_an_empty_copy(scene: Scene) -> None:
    await scene.play()
    await scene.lose()

    done = await scene.stub.SubmitScore(
        pb.SubmitScoreRequest(
            board_id="spend", member_id="newbie", value=1, partition="eu", idempotency_key="n1"
        )
    )

    assert done.rank in (0, 3)  # 0: Redis could not say yet; never 1 from an empty copy
    ref = pb.BoardRef(board_id="spend", partition="eu")
    page = await scene.stub.GetLeaderboard(pb.GetLeaderboardRequest(board=ref))
    assert [(e.member_id, e.score, e.rank) for e in page.entries] == [
        *EXPECTED_DAY_TWO_EU,
        ("newbie", 1, 3),
    ]


@contextlib.asynccontextmanager
async def period_locked(engine: AsyncEngine, ref: pb.BoardRef) -> AsyncIterator[None]:
    """Hold the board-period's lock in Postgres, as a long rebuild elsewhere would."""
    name = f"board-period:{ref.board_id}:{ref.partition}:{ref.period_id}"
    async with engine.connect() as conn:
        await conn.execute(sa.select(sa.func.pg_advisory_lock(sa.func.hashtext(name))))
        try:
            yield
        finally:
            await conn.execute(sa.select(sa.func.pg_advisory_unlock(sa.func.hashtext(name))))
            await conn.commit()


async def test_reads_answer_unavailable_while_the_board_is_being_rebuilt(
    scene: Scene, engine: AsyncEngine
) -> None:
    refs = await scene.play()
    assert scene.app.boards.healer is not None
    scene.app.boards.healer.wait_seconds = 0.2
    await scene.lose()
    ref = refs[4]  # day two, eu, main

    async with period_locked(engine, ref):
        reads = (
            scene.stub.GetLeaderboard(pb.GetLeaderboardRequest(board=ref)),
            scene.stub.GetAroundMe(pb.GetAroundMeRequest(board=ref, member_id="dan")),
            scene.stub.GetRank(pb.GetRankRequest(board=ref, member_id="dan")),
            scene.stub.GetFriendsLeaderboard(
                pb.GetFriendsLeaderboardRequest(board=ref, member_ids=["dan"])
            ),
        )
        for read in reads:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await read
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "being rebuilt" in (refused.value.details() or "")

    async def healed() -> bool:
        return await all_loaded(scene.app, [ref])

    await wait_until(healed, what="the rebuild to finish once the lock is released")
    page = await scene.stub.GetLeaderboard(pb.GetLeaderboardRequest(board=ref))
    assert [(e.member_id, e.score, e.rank) for e in page.entries] == EXPECTED_DAY_TWO_EU


async def test_the_upkeep_heals_every_board_period_without_a_caller(
    scene: Scene, settings: Settings
) -> None:
    refs = await scene.play()
    before = await snapshot(scene.stub, refs)
    await scene.lose()
    replica = build_app(settings, scene.clock)
    upkeep = start_board_upkeep(replica)
    try:
        await wait_until(
            lambda: all_loaded(scene.app, refs), what="the upkeep to heal every board-period"
        )
    finally:
        await upkeep.stop()
        await replica.close()

    assert await snapshot(scene.stub, refs) == before
    board = await scene.app.boards.catalog.get("spend")
    retained = redis_board(scene.app.boards.redis, board, _key(refs[0]))
    assert await scene.redis.pttl(retained.keys.loaded) > 0  # day one keeps its retention
    assert (
        await scene.redis.pttl(
            redis_board(scene.app.boards.redis, board, _key(refs[4])).keys.loaded
        )
        == -1
    )


async def test_two_replicas_heal_each_board_period_once(scene: Scene, settings: Settings) -> None:
    refs = await scene.play()
    before = await snapshot(scene.stub, refs)
    await scene.lose()
    first, second = build_app(settings, scene.clock), build_app(settings, scene.clock)
    try:
        healed = await asyncio.gather(heal_boards(first), heal_boards(second))
        again = await asyncio.gather(heal_boards(first), heal_boards(second))
    finally:
        await first.close()
        await second.close()

    assert sum(healed) == len(refs)
    assert list(again) == [0, 0]
    assert await snapshot(scene.stub, refs) == before


async def test_a_copy_restored_from_an_older_snapshot_is_rebuilt_once_settled(
    scene: Scene,
) -> None:
    refs = await scene.play()
    keys = [key async for key in scene.redis.scan_iter(match=f"*{scene.prefix}*", count=1000)]
    older = {key: (await scene.redis.dump(key), await scene.redis.pttl(key)) for key in keys}
    await _submit(scene.stub, [("eu", "dan", 500)], "late")  # a rookie: main and rookie board
    truth = await snapshot(scene.stub, refs)
    for key, (dumped, ttl) in older.items():  # what a restart from that snapshot brings back
        assert dumped is not None
        await scene.redis.restore(key, max(ttl, 0), dumped, replace=True)
    assert await snapshot(scene.stub, refs) != truth

    seen: dict[BoardKey, int] = {}
    assert await verify_boards(scene.app, seen) == 0  # the first pass only takes note
    assert await verify_boards(scene.app, seen) == 2
    assert await snapshot(scene.stub, refs) == truth
    assert await verify_boards(scene.app, seen) == 0


async def test_rebuild_boards_reloads_every_board_period_and_is_audited(scene: Scene) -> None:
    refs = await scene.play()
    before = await snapshot(scene.stub, refs)
    await scene.lose()
    admin = pb_grpc.LeaderboardAdminServiceStub(scene.channel)

    done = await admin.RebuildBoards(pb.RebuildBoardsRequest())

    assert done.board_periods == len(refs)
    assert await all_loaded(scene.app, refs)
    assert await snapshot(scene.stub, refs) == before
    audit = await audit_pb2_grpc.AuditAdminServiceStub(scene.channel).ListAuditEntries(
        audit_pb2.ListAuditEntriesRequest(target_kind="board_period", page_size=100)
    )
    rebuilt = [e for e in audit.entries if e.rpc == "LeaderboardAdminService/RebuildBoards"]
    assert len(rebuilt) == len(refs)
    assert {e.actor for e in rebuilt} == {"test-operator"}


async def test_a_player_may_not_rebuild_boards(app: App) -> None:
    running = await start_server(app, "127.0.0.1:0")
    try:
        async with auth.channel(running.port, auth.token("p1", "player")) as player:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pb_grpc.LeaderboardAdminServiceStub(player).RebuildBoards(
                    pb.RebuildBoardsRequest()
                )
    finally:
        await running.stop(0)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
