"""AuditAdminService through the generated stubs: admin changes, newest first, filtered, paged."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.gen.engagement.v1 import audit_pb2 as pb
from service.gen.engagement.v1 import audit_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as program_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import grants_pb2_grpc as grants_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

TASK = defs.DEFINITION_KIND_TASK


def _task(title: str) -> defs.Definition:
    return defs.Definition(
        task=defs.TaskDefinition(
            task_id="buy", title=title, event_type="order.paid", tiers=[defs.TaskTier(target=1)]
        )
    )


def _stamp(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


async def _list(channel: grpc.aio.Channel, **filters: object) -> list[pb.AuditEntry]:
    stub = pb_grpc.AuditAdminServiceStub(channel)
    return list((await stub.ListAuditEntries(pb.ListAuditEntriesRequest(**filters))).entries)  # type: ignore[arg-type]


async def test_an_upserted_definition_shows_its_actor_and_versions(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    rules = rules_grpc.RulesAdminServiceStub(channel)
    await rules.UpsertDefinition(rules_pb.UpsertDefinitionRequest(definition=_task("Buy")))
    clock.advance(minutes=5)
    await rules.UpsertDefinition(rules_pb.UpsertDefinitionRequest(definition=_task("Buy more")))
    await rules.ArchiveDefinition(rules_pb.ArchiveDefinitionRequest(kind=TASK, definition_id="buy"))
    await rules.ArchiveDefinition(rules_pb.ArchiveDefinitionRequest(kind=TASK, definition_id="buy"))

    entries = await _list(channel, target_kind="task", target_id="buy")

    assert [(e.rpc, e.version_before, e.version_after) for e in entries] == [
        ("RulesAdminService/ArchiveDefinition", 2, 3),
        ("RulesAdminService/UpsertDefinition", 1, 2),
        ("RulesAdminService/UpsertDefinition", 0, 1),
    ]
    first = entries[-1]
    assert not first.HasField("version_before")
    assert first.HasField("version_after")
    assert {e.actor for e in entries} == {"test-operator"}
    assert first.at.ToDatetime(tzinfo=dt.UTC) == clock.now() - dt.timedelta(minutes=5)
    assert entries[0].at.ToDatetime(tzinfo=dt.UTC) == clock.now()


async def _changes(channel: grpc.aio.Channel, clock: MovableClock) -> None:
    """Five admin changes, a minute apart: a program, a board, three users' segments."""
    program = program_pb.CheckInProgram(cycle=[program_pb.CycleDay()])
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )
    clock.advance(minutes=1)
    board = board_pb.Board(
        board_id="spend", title="Spend", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_DENSE,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
    )  # fmt: skip
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=board)
    )
    rules = rules_grpc.RulesAdminServiceStub(channel)
    for user in ("ann", "bob", "cy"):
        clock.advance(minutes=1)
        await rules.SetUserSegments(rules_pb.SetUserSegmentsRequest(user_id=user, segments=["a"]))


async def test_filters_by_time_actor_and_target(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    start = clock.now()
    await _changes(channel, clock)

    everything = await _list(channel)
    by_time = await _list(
        channel,
        after=_stamp(start + dt.timedelta(minutes=1)),
        before=_stamp(start + dt.timedelta(minutes=3)),
    )
    by_target = await _list(channel, target_kind="user", target_id="bob")
    by_kind = await _list(channel, target_kind="board")
    nobody = await _list(channel, actor="someone-else")
    by_actor = await _list(channel, actor="test-operator")

    assert [e.target_id for e in everything] == ["cy", "bob", "ann", "spend", "current"]
    assert [e.target_id for e in by_time] == ["ann", "spend"]
    assert [(e.rpc, list(e.details["after"])) for e in by_target] == [  # type: ignore[arg-type]
        ("RulesAdminService/SetUserSegments", ["a"])
    ]
    assert [(e.target_id, e.version_before, e.version_after) for e in by_kind] == [("spend", 0, 1)]
    assert not by_kind[0].HasField("version_before")
    assert nobody == []
    assert len(by_actor) == 5
    program = everything[-1]
    assert (program.rpc, program.version_before, program.version_after) == (
        "CheckInAdminService/UpdateCheckInProgram", 0, 1,
    )  # fmt: skip
    assert program.HasField("version_before")


async def test_pages_newest_first_and_tokens_keep_their_filters(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _changes(channel, clock)
    stub = pb_grpc.AuditAdminServiceStub(channel)

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await stub.ListAuditEntries(
            pb.ListAuditEntriesRequest(page_size=2, page_token=token)
        )
        seen += [e.target_id for e in page.entries]
        pages += 1
        token = page.next_page_token
        if not token:
            break
        last_token = token

    assert (seen, pages) == (["cy", "bob", "ann", "spend", "current"], 3)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListAuditEntries(
            pb.ListAuditEntriesRequest(actor="test-operator", page_size=2, page_token=last_token)
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (raised.value.details() or "").startswith("page_token")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListAuditEntriesRequest(page_size=501), "page_size"),
        (pb.ListAuditEntriesRequest(target_id="bob"), "target_kind"),
        (pb.ListAuditEntriesRequest(page_token="nonsense"), "page_token"),
    ],
)
async def test_bad_queries_name_the_field(
    channel: grpc.aio.Channel, request_: pb.ListAuditEntriesRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pb_grpc.AuditAdminServiceStub(channel).ListAuditEntries(request_)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (raised.value.details() or "").startswith(field)


async def test_a_page_size_of_zero_means_fifty(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    rules = rules_grpc.RulesAdminServiceStub(channel)
    for n in range(51):
        await rules.SetUserSegments(rules_pb.SetUserSegmentsRequest(user_id=f"u{n}", segments=[]))

    page = await pb_grpc.AuditAdminServiceStub(channel).ListAuditEntries(
        pb.ListAuditEntriesRequest()
    )

    assert (len(page.entries), bool(page.next_page_token)) == (50, True)


async def test_board_operations_and_grant_retries_are_audited(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    board = board_pb.Board(
        board_id="daily", title="Daily", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_DENSE,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_DAILY), timezone="UTC",
    )  # fmt: skip
    await admin.UpsertBoard(board_pb.UpsertBoardRequest(board=board))
    await board_grpc.LeaderboardServiceStub(channel).SubmitScore(
        board_pb.SubmitScoreRequest(board_id="daily", member_id="ann", value=3, idempotency_key="k")
    )
    ref = board_pb.BoardRef(board_id="daily")
    await admin.RebuildBoard(board_pb.RebuildBoardRequest(board=ref))
    await admin.RemoveMember(board_pb.RemoveMemberRequest(board=ref, member_id="ann"))
    period = board_pb.BoardRef(board_id="daily", period_id="d2026-03-10")
    clock.advance(days=1)
    await admin.FinalizePeriod(board_pb.FinalizePeriodRequest(board=period))
    await admin.FinalizePeriod(board_pb.FinalizePeriodRequest(board=period))
    await grants_grpc.GrantAdminServiceStub(channel).RetryDeadGrants(
        grants_pb.RetryDeadGrantsRequest(all=True)
    )

    entries = await _list(channel)

    assert [(e.rpc, e.target_kind, e.target_id) for e in entries] == [
        ("GrantAdminService/RetryDeadGrants", "grants", "dead"),
        ("LeaderboardAdminService/FinalizePeriod", "board_period", "daily::d2026-03-10"),
        ("LeaderboardAdminService/RemoveMember", "member", "ann"),
        ("LeaderboardAdminService/RebuildBoard", "board_period", "daily::d2026-03-10"),
        ("LeaderboardAdminService/UpsertBoard", "board", "daily"),
    ]
    assert entries[1].details["members"] == 0
    assert (entries[2].details["board_id"], entries[2].details["removed"]) == ("daily", True)
    assert entries[3].details["members"] == 1
