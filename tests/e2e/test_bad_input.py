"""Bad input through the real server: every refusal is INVALID_ARGUMENT (or NOT_FOUND) naming
the field, never INTERNAL, and nothing is stored or paid."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.grants.ports import GrantFilter
from service.bootstrap import build_app
from service.entrypoints.grpc_api.server import start_server
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
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.REWARD_KIND_POINTS
BOARD = board_pb.BoardRef(board_id="weekly")


async def _refused(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await call
    return excinfo.value.code(), excinfo.value.details() or ""


async def _invalid(call: Awaitable[object], field: str) -> str:
    """Assert INVALID_ARGUMENT whose message starts with `field` and names it once."""
    code, message = await _refused(call)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, message
    assert message.startswith(f"{field}: "), message
    assert message.count(field.rsplit(".", 1)[-1].split("[", maxsplit=1)[0]) == 1, message
    return message


def _task(**changes: object) -> defs.TaskDefinition:
    task = defs.TaskDefinition(
        task_id="buy",
        title="Buy things",
        event_type="buy",
        tiers=[defs.TaskTier(target=2, rewards=[rewards_pb2.Reward(kind=POINTS, amount=5)])],
    )
    for name, value in changes.items():
        if isinstance(value, list):
            getattr(task, name).extend(value)
        else:
            setattr(task, name, value)
    return task


def _board(**changes: object) -> board_pb.Board:
    board = board_pb.Board(
        board_id="weekly",
        title="Weekly",
        sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM,
        tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_WEEKLY, week_start=1),
    )
    for name, value in changes.items():
        if isinstance(value, board_pb.Period):
            board.period.CopyFrom(value)
        else:
            setattr(board, name, value)
    return board


def _far(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


@pytest.fixture
async def boards(channel: grpc.aio.Channel) -> board_grpc.LeaderboardServiceAsyncStub:
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    await admin.UpsertBoard(board_pb.UpsertBoardRequest(board=_board()))
    return board_grpc.LeaderboardServiceStub(channel)


def _definition(definition: object) -> admin_pb.UpsertDefinitionRequest:
    if isinstance(definition, defs.TaskDefinition):
        return admin_pb.UpsertDefinitionRequest(definition=defs.Definition(task=definition))
    assert isinstance(definition, defs.BadgeDefinition)
    return admin_pb.UpsertDefinitionRequest(definition=defs.Definition(badge=definition))


async def test_nul_bytes_are_refused_naming_the_field(
    channel: grpc.aio.Channel, boards: board_grpc.LeaderboardServiceAsyncStub
) -> None:
    rules = admin_grpc.RulesAdminServiceStub(channel)
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    grants = grants_grpc.GrantAdminServiceStub(channel)
    metadata = board_pb.SetMemberMetadataRequest(
        board_id="weekly", member_id="ana", display_name="A\x00na"
    )
    await _invalid(boards.SetMemberMetadata(metadata), "display_name")
    await _invalid(
        rules.UpsertDefinition(_definition(_task(title="Buy\x00"))), "definition.task.title"
    )
    condition = defs.Condition(field="attributes.shop", op=defs.CONDITION_OP_EQ, operands=["a\0"])
    await _invalid(
        rules.UpsertDefinition(_definition(_task(conditions=[condition]))),
        "definition.task.conditions[0].operands[0]",
    )
    badge = defs.BadgeDefinition(
        badge_id="buyer",
        title="Buyer",
        criterion=defs.BadgeCriterion(kind=defs.CRITERION_KIND_EVENT_COUNT, event_type="buy"),
        tiers=[defs.BadgeTier(name="gold\x00", threshold=1)],
    )
    await _invalid(rules.UpsertDefinition(_definition(badge)), "definition.badge.tiers[0].name")
    await _invalid(
        admin.UpsertBoard(board_pb.UpsertBoardRequest(board=_board(title="W\x00"))),
        "board.title",
    )
    await _invalid(grants.ListGrants(grants_pb.ListGrantsRequest(cause_ref="x\x00")), "cause_ref")
    event = events_pb.TrackEventRequest(
        user_id="ana", type="buy", idempotency_key="k1", attributes={"shop": "\x00"}
    )
    await _invalid(events_grpc.EventServiceStub(channel).TrackEvent(event), 'attributes["shop"]')


async def test_free_text_may_hold_newlines_and_tabs(channel: grpc.aio.Channel) -> None:
    rules = admin_grpc.RulesAdminServiceStub(channel)
    stored = await rules.UpsertDefinition(_definition(_task(description="Line one\n\tLine two")))
    assert stored.definition.task.description == "Line one\n\tLine two"
    for title in ("Buy\nthings", "   "):
        await _invalid(
            rules.UpsertDefinition(_definition(_task(title=title))), "definition.task.title"
        )
    await _invalid(
        board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
            board_pb.UpsertBoardRequest(board=_board(title="  "))
        ),
        "board.title",
    )


async def test_far_and_malformed_timestamps_are_refused(channel: grpc.aio.Channel) -> None:
    grants = grants_grpc.GrantAdminServiceStub(channel)
    admin = board_grpc.LeaderboardAdminServiceStub(channel)
    year_10000 = 253_402_300_800
    await _invalid(
        grants.ListGrants(grants_pb.ListGrantsRequest(created_after=_far(year_10000))),
        "created_after",
    )
    await _invalid(
        grants.ListGrants(grants_pb.ListGrantsRequest(created_before=_far(-62_135_596_801))),
        "created_before",
    )
    season = board_pb.Period(
        kind=board_pb.PERIOD_KIND_SEASON, season_start=_far(0), season_end=_far(year_10000)
    )
    await _invalid(
        admin.UpsertBoard(board_pb.UpsertBoardRequest(board=_board(period=season))),
        "board.period.season_end",
    )
    bad_nanos = events_pb.TrackEventRequest(
        user_id="ana", type="buy", idempotency_key="k1",
        occurred_at=Timestamp(seconds=1, nanos=1_000_000_000),
    )  # fmt: skip
    await _invalid(events_grpc.EventServiceStub(channel).TrackEvent(bad_nanos), "occurred_at")


def _forged(before: int, where: object) -> str:
    """A token as the unsigned format spelled it, with the right filter digest."""
    digest = hashlib.sha256(repr(where).encode()).hexdigest()[:16]
    doc = json.dumps({"before": before, "filter": digest})
    return base64.urlsafe_b64encode(doc.encode()).decode()


async def test_forged_and_altered_page_tokens_are_refused(channel: grpc.aio.Channel) -> None:
    grants = grants_grpc.GrantAdminServiceStub(channel)
    rules = admin_grpc.RulesAdminServiceStub(channel)
    huge = -99999999999999999999
    forged = _forged(huge, GrantFilter())
    await _invalid(grants.ListGrants(grants_pb.ListGrantsRequest(page_token=forged)), "page_token")
    await _invalid(
        rules.ListFlaggedEvents(
            admin_pb.ListFlaggedEventsRequest(page_token=_forged(huge, ("flagged", "")))
        ),
        "page_token",
    )
    await _invalid(
        grants.ListGrants(grants_pb.ListGrantsRequest(page_token="not a token!")), "page_token"
    )


async def _grants_for(channel: grpc.aio.Channel, users: int) -> None:
    program = program_pb.CheckInProgram(
        cycle=[program_pb.CycleDay(rewards=[rewards_pb2.Reward(kind=POINTS, amount=10)])]
    )
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    for n in range(users):
        await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id=f"u{n}", timezone="UTC"))


async def test_replicas_sharing_the_secret_accept_each_others_tokens(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    secret = SecretStr("s" * 32)
    shared = settings.model_copy(update={"page_token_secret": secret})
    other = settings.model_copy(update={"page_token_secret": SecretStr("t" * 32)})
    apps = [build_app(s, clock=clock) for s in (shared, shared, other)]
    servers = [await start_server(app, "127.0.0.1:0") for app in apps]
    channels = [auth.channel(s.port) for s in servers]
    try:
        await _grants_for(channels[0], 2)
        first, same, foreign = (grants_grpc.GrantAdminServiceStub(c) for c in channels)
        page = await first.ListGrants(grants_pb.ListGrantsRequest(page_size=1))
        following = grants_pb.ListGrantsRequest(page_size=1, page_token=page.next_page_token)
        rest = await same.ListGrants(following)
        assert [g.grant.user_id for g in (*page.grants, *rest.grants)] == ["u1", "u0"]
        await _invalid(foreign.ListGrants(following), "page_token")
    finally:
        for channel, server, app in zip(channels, servers, apps, strict=True):
            await channel.close(None)
            await server.stop(0)
            await app.close()


async def test_blank_and_padded_ids_are_refused_and_nothing_is_paid(
    channel: grpc.aio.Channel,
) -> None:
    program = program_pb.CheckInProgram(
        cycle=[program_pb.CycleDay(rewards=[rewards_pb2.Reward(kind=POINTS, amount=10)])]
    )
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    for user_id in ("   ", " ana", "ana\t"):
        await _invalid(
            check_ins.CheckIn(check_in_pb.CheckInRequest(user_id=user_id, timezone="UTC")),
            "user_id",
        )
    listed = await grants_grpc.GrantAdminServiceStub(channel).ListGrants(
        grants_pb.ListGrantsRequest()
    )
    assert list(listed.grants) == []


async def test_avatar_urls_must_be_http_with_a_host(
    boards: board_grpc.LeaderboardServiceAsyncStub,
) -> None:
    for url in ("javascript:alert(1)", "https://", "ftp://x.example/a.png", "//x.example/a"):
        request = board_pb.SetMemberMetadataRequest(
            board_id="weekly", member_id="ana", avatar_url=url
        )
        await _invalid(boards.SetMemberMetadata(request), "avatar_url")
    fine = board_pb.SetMemberMetadataRequest(
        board_id="weekly", member_id="ana", avatar_url="https://cdn.example/a.png"
    )
    await boards.SetMemberMetadata(fine)


@pytest.mark.parametrize("operand", ["NaN", "Infinity", "-inf", "1e400", "1e300"])
async def test_numeric_operands_must_be_finite_and_bounded(
    channel: grpc.aio.Channel, operand: str
) -> None:
    condition = defs.Condition(field="value", op=defs.CONDITION_OP_GT, operands=[operand])
    await _invalid(
        admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
            _definition(_task(conditions=[condition]))
        ),
        "definition.task.conditions[0].operands",
    )


async def test_non_finite_doubles_are_refused(channel: grpc.aio.Channel) -> None:
    levels = defs.LevelTable(base_xp=100, exponent=float("nan"), max_level=10)
    await _invalid(
        admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
            admin_pb.UpsertDefinitionRequest(definition=defs.Definition(levels=levels))
        ),
        "definition.levels.exponent",
    )


async def test_rank_of_an_unknown_member_is_not_found(
    boards: board_grpc.LeaderboardServiceAsyncStub,
) -> None:
    code, message = await _refused(
        boards.GetRank(board_pb.GetRankRequest(board=BOARD, member_id="nobody"))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert "'nobody'" in message


async def test_page_size_zero_means_the_default_on_every_list(
    channel: grpc.aio.Channel, boards: board_grpc.LeaderboardServiceAsyncStub
) -> None:
    for member, value in (("ana", 3), ("bob", 2)):
        await boards.SubmitScore(
            board_pb.SubmitScoreRequest(
                board_id="weekly", member_id=member, value=value, idempotency_key=member
            )
        )
    page = await boards.GetLeaderboard(board_pb.GetLeaderboardRequest(board=BOARD))
    assert [e.member_id for e in page.entries] == ["ana", "bob"]
    around = await boards.GetAroundMe(board_pb.GetAroundMeRequest(board=BOARD, member_id="bob"))
    assert [e.member_id for e in around.entries] == ["ana", "bob"]
    standings = await boards.GetStandings(board_pb.GetStandingsRequest(board=BOARD))
    assert list(standings.entries) == []
    await grants_grpc.GrantAdminServiceStub(channel).ListGrants(grants_pb.ListGrantsRequest())
    await admin_grpc.RulesAdminServiceStub(channel).ListFlaggedEvents(
        admin_pb.ListFlaggedEventsRequest()
    )
    for call in (
        boards.GetLeaderboard(board_pb.GetLeaderboardRequest(board=BOARD, page_size=-1)),
        boards.GetStandings(board_pb.GetStandingsRequest(board=BOARD, page_size=-1)),
        grants_grpc.GrantAdminServiceStub(channel).ListGrants(
            grants_pb.ListGrantsRequest(page_size=-1)
        ),
    ):
        await _invalid(call, "page_size")
    await _invalid(
        boards.GetLeaderboard(board_pb.GetLeaderboardRequest(board=BOARD, page_size=1001)),
        "page_size",
    )


async def test_messages_name_the_field_once_with_a_real_bound(
    boards: board_grpc.LeaderboardServiceAsyncStub,
) -> None:
    ref = board_pb.BoardRef(board_id="weekly", period_id="garbage")
    message = await _invalid(
        boards.GetLeaderboard(board_pb.GetLeaderboardRequest(board=ref)), "board.period_id"
    )
    assert "period_id: period_id" not in message
    message = await _invalid(
        boards.GetLeaderboard(board_pb.GetLeaderboardRequest(board=BOARD, page=-1)), "page"
    )
    assert "4294967296" not in message


async def test_unknown_enum_numbers_are_refused(channel: grpc.aio.Channel) -> None:
    grants = grants_grpc.GrantAdminServiceStub(channel)
    await _invalid(
        grants.ListGrants(grants_pb.ListGrantsRequest(status=42)),  # type: ignore[arg-type]
        "status",
    )
    reward = rewards_pb2.Reward(kind=77, amount=1)  # type: ignore[arg-type]
    await _invalid(
        admin_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
            _definition(_task(tiers=[defs.TaskTier(target=3, rewards=[reward])]))
        ),
        "definition.task.tiers[1].rewards[0].kind",
    )


async def test_lists_and_maps_are_bounded(channel: grpc.aio.Channel) -> None:
    event = events_pb.TrackEventRequest(
        user_id="ana", type="buy", idempotency_key="k1",
        attributes={f"a{i}": "x" for i in range(1000)},
    )  # fmt: skip
    await _invalid(events_grpc.EventServiceStub(channel).TrackEvent(event), "attributes")
    huge = grants_pb.RetryDeadGrantsRequest(grant_ids=["g"] * 20_000)
    await _invalid(grants_grpc.GrantAdminServiceStub(channel).RetryDeadGrants(huge), "grant_ids")
