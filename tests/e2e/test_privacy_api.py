"""PrivacyAdminService through the generated stubs: export a user's data, then erase it."""

from __future__ import annotations

import grpc
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.queue import PostgresOutboxQueue
from service.domain.grant_delivery import Settlement
from service.gen.engagement.v1 import audit_pb2 as audit_pb
from service.gen.engagement.v1 import audit_pb2_grpc as audit_grpc
from service.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as program_grpc
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import grants_pb2_grpc as grants_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import privacy_pb2 as pb
from service.gen.engagement.v1 import privacy_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from tests.support.privacy_scan import postgres_mentions, redis_mentions

pytestmark = pytest.mark.e2e

USER = "erase-me-4711"
OTHER = "keep-me-0815"
POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
XP = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_XP, amount=100)
BOARD = board_pb.Board(
    board_id="spend",
    title="Spend",
    sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
    aggregation=board_pb.AGGREGATION_SUM,
    tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
    period=board_pb.Period(kind=board_pb.PERIOD_KIND_DAILY),
    timezone="UTC",
    retention_periods=2,
    source_event_types=["order.paid"],
    rookie_days=7,
    partition_attribute="region",
)


def _definitions() -> list[defs.Definition]:
    buyer = defs.BadgeDefinition(
        badge_id="buyer",
        title="Buyer",
        criterion=defs.BadgeCriterion(
            kind=defs.CRITERION_KIND_EVENT_COUNT, event_type="order.paid"
        ),
        tiers=[defs.BadgeTier(name="bronze", threshold=1)],
    )
    task = defs.TaskDefinition(
        task_id="buy",
        title="Buy twice",
        event_type="order.paid",
        tiers=[defs.TaskTier(target=1, rewards=[POINTS, XP]), defs.TaskTier(target=2)],
    )
    return [defs.Definition(badge=buyer), defs.Definition(task=task)]


async def _play(channel: grpc.aio.Channel, user: str) -> None:
    """A check-in, an event feeding a task, a badge and a board, a score, metadata, segments."""
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id=user, timezone="Europe/Berlin")
    )
    await events_grpc.EventServiceStub(channel).TrackEvent(
        events_pb.TrackEventRequest(
            user_id=user, type="order.paid", value=2500, idempotency_key=f"order-{user}",
            attributes={"region": "eu"},
        )
    )  # fmt: skip
    boards = board_grpc.LeaderboardServiceStub(channel)
    await boards.SubmitScore(
        board_pb.SubmitScoreRequest(
            board_id="spend", member_id=user, value=5, idempotency_key=f"s-{user}", partition="us"
        )
    )
    await boards.SetMemberMetadata(
        board_pb.SetMemberMetadataRequest(board_id="spend", member_id=user, display_name="Me")
    )
    await rules_grpc.RulesAdminServiceStub(channel).SetUserSegments(
        rules_pb.SetUserSegmentsRequest(user_id=user, segments=["vip"])
    )


@pytest.fixture
async def game(channel: grpc.aio.Channel) -> pb_grpc.PrivacyAdminServiceAsyncStub:
    program = program_pb.CheckInProgram(cycle=[program_pb.CycleDay(rewards=[POINTS])])
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=BOARD)
    )
    rules = rules_grpc.RulesAdminServiceStub(channel)
    for definition in _definitions():
        await rules.UpsertDefinition(rules_pb.UpsertDefinitionRequest(definition=definition))
    for user in (USER, OTHER):
        await _play(channel, user)
    return pb_grpc.PrivacyAdminServiceStub(channel)


def _delete(user: str = USER) -> pb.DeleteUserDataRequest:
    return pb.DeleteUserDataRequest(user_id=user, reason="erasure request 118")


async def test_the_export_holds_every_part_of_the_users_data(
    game: pb_grpc.PrivacyAdminServiceAsyncStub,
) -> None:
    data = (await game.ExportUserData(pb.ExportUserDataRequest(user_id=USER))).data

    assert (data.user_id, data.streak.current, data.streak.timezone) == (USER, 1, "Europe/Berlin")
    assert [c.status for c in data.check_ins] == ["checked_in"]
    assert (list(data.profile.segments), data.profile.xp) == (["vip"], 100)
    assert [(t.task_id, t.progress, t.tiers_reached) for t in data.tasks] == [("buy", 1, 1)]
    assert [(b.badge_id, b.tier) for b in data.badges] == [("buyer", 1)]
    assert sorted((s.partition, s.rookie, s.score) for s in data.board_scores) == [
        ("eu", False, 2500), ("eu", True, 2500), ("us", False, 5), ("us", True, 5),
    ]  # fmt: skip
    assert [m.display_name for m in data.board_members] == ["Me"]
    assert sorted(g.cause_kind for g in data.grants) == ["check_in", "task", "task"]
    assert all(g.status == "pending" for g in data.grants)
    assert [(e.type, e.value, e.attributes["region"]) for e in data.events] == [
        ("order.paid", 2500, "eu")
    ]
    tables = {t.table: len(t.rows_json) for t in data.other_tables}
    assert tables == {"audit_entries": 1, "score_ledger": 2, "task_completions": 1}


async def test_deletion_leaves_no_trace_of_the_user_and_spares_others(
    game: pb_grpc.PrivacyAdminServiceAsyncStub,
    engine: AsyncEngine,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    assert await postgres_mentions(engine, USER)
    assert await redis_mentions(redis_client, redis_prefix, USER)

    deleted = await game.DeleteUserData(_delete())

    assert deleted.erased
    assert (deleted.grants_cancelled, deleted.grants_kept, deleted.board_periods) == (3, 0, 4)
    assert deleted.deleted_rows["board_scores"] == 4
    assert await postgres_mentions(engine, USER) == []
    assert await redis_mentions(redis_client, redis_prefix, USER) == []
    assert "board_scores.member_id" in await postgres_mentions(engine, OTHER)
    assert await redis_mentions(redis_client, redis_prefix, OTHER)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await game.ExportUserData(pb.ExportUserDataRequest(user_id=USER))
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND
    other = await game.ExportUserData(pb.ExportUserDataRequest(user_id=OTHER))
    assert other.data.streak.current == 1


async def test_a_second_deletion_succeeds_and_changes_nothing(
    game: pb_grpc.PrivacyAdminServiceAsyncStub, channel: grpc.aio.Channel
) -> None:
    first = await game.DeleteUserData(_delete())
    second = await game.DeleteUserData(_delete())

    assert first.erased
    assert not second.erased
    assert second.pseudonym == first.pseudonym
    assert (dict(second.deleted_rows), second.grants_cancelled, second.board_periods) == ({}, 0, 0)
    entries = await audit_grpc.AuditAdminServiceStub(channel).ListAuditEntries(
        audit_pb.ListAuditEntriesRequest(target_kind="user", target_id=first.pseudonym)
    )
    assert [e.rpc for e in entries.entries] == [
        "PrivacyAdminService/DeleteUserData",
        "RulesAdminService/SetUserSegments",
    ]
    erased = entries.entries[0]
    assert (erased.actor, erased.details["reason"]) == ("test-operator", "erasure request 118")
    assert erased.details["grants_cancelled"] == 3


async def test_pending_grants_are_cancelled_with_the_reason_and_delivered_ones_kept(
    game: pb_grpc.PrivacyAdminServiceAsyncStub, channel: grpc.aio.Channel, engine: AsyncEngine
) -> None:
    queue = PostgresOutboxQueue(engine)
    claimed = await queue.claim("relay-1", limit=10, lease_seconds=30)
    first_of_user = min(g.id for g in claimed if g.grant.user_id == USER)
    await queue.settle("relay-1", Settlement(delivered=(first_of_user,)))

    deleted = await game.DeleteUserData(_delete())
    listed = await grants_grpc.GrantAdminServiceStub(channel).ListGrants(
        grants_pb.ListGrantsRequest(user_id=deleted.pseudonym)
    )

    assert (deleted.grants_cancelled, deleted.grants_kept) == (2, 1)
    statuses = sorted((g.status, g.last_error) for g in listed.grants)
    cancelled = (
        grants_pb.GRANT_STATUS_CANCELLED,
        "cancelled: the user's data was deleted (erasure request 118)",
    )
    assert statuses == [(grants_pb.GRANT_STATUS_DELIVERED, ""), cancelled, cancelled]
    assert all(not g.in_flight for g in listed.grants)
    assert {g.grant.user_id for g in listed.grants} == {deleted.pseudonym}


async def test_a_blank_reason_or_user_is_invalid(
    game: pb_grpc.PrivacyAdminServiceAsyncStub,
) -> None:
    for request, field in [
        (pb.DeleteUserDataRequest(user_id=USER, reason=" "), "reason"),
        (pb.DeleteUserDataRequest(reason="why"), "user_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await game.DeleteUserData(request)
        assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert (raised.value.details() or "").startswith(field)
