"""LeagueService and LeagueAdminService through the generated stubs on a real server."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import leagues_pb2 as pb
from service.gen.engagement.v1 import leagues_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rewards_pb2
from tests.support import auth
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

MONDAY = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=100)
BOARD = board_pb.Board(
    board_id="league-xp", title="League XP", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
    aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
    period=board_pb.Period(kind=board_pb.PERIOD_KIND_WEEKLY), timezone="UTC",
    source_event_types=["lesson"], partition_attribute="cohort", retention_periods=2,
)  # fmt: skip
LEAGUE = pb.League(
    league_id="weekly", title="Weekly League", board_id="league-xp", cohort_size=3,
    tiers=[
        pb.LeagueTier(tier_id="bronze", title="Bronze", promote_count=1,
                      promotion_rewards=[POINTS]),
        pb.LeagueTier(tier_id="silver", title="Silver", demote_count=1,
                      idle_rule=pb.IDLE_RULE_DROP,
                      rank_rewards=[board_pb.RankReward(first_rank=1, last_rank=1,
                                                        rewards=[POINTS])]),
    ],
)  # fmt: skip


async def _define(channel: grpc.aio.Channel) -> pb.League:
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=BOARD)
    )
    admin = pb_grpc.LeagueAdminServiceStub(channel)
    return (await admin.UpsertLeague(pb.UpsertLeagueRequest(league=LEAGUE))).league


async def _lesson(channel: grpc.aio.Channel, user: str, value: int, key: str) -> None:
    await events_grpc.EventServiceStub(channel).TrackEvent(
        events_pb.TrackEventRequest(user_id=user, type="lesson", value=value, idempotency_key=key)
    )


async def _refused(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call  # type: ignore[misc]
    return refused.value.code(), refused.value.details() or ""


async def test_a_season_from_first_event_to_history(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = MONDAY + dt.timedelta(hours=9)
    stored = await _define(channel)
    players = pb_grpc.LeagueServiceStub(channel)
    admin = pb_grpc.LeagueAdminServiceStub(channel)
    for user, value in (("ana", 30), ("bob", 20), ("cy", 10), ("dee", 5)):
        await _lesson(channel, user, value, f"{user}-1")
    mine = await players.GetLeague(pb.GetLeagueRequest(league_id="weekly", user_id="ana"))
    clock.current = MONDAY + dt.timedelta(days=7)
    ended = await admin.EndLeagueSeason(pb.EndLeagueSeasonRequest(league_id="weekly"))
    again = await admin.EndLeagueSeason(
        pb.EndLeagueSeasonRequest(league_id="weekly", period_id=ended.period_id)
    )
    history = await players.ListLeagueHistory(
        pb.ListLeagueHistoryRequest(league_id="weekly", user_id="ana")
    )
    now = await players.GetLeague(pb.GetLeagueRequest(league_id="weekly", user_id="ana"))

    assert (stored.version, stored.cohort_size) == (1, 3)
    assert (mine.tier.tier_id, mine.cohort_id, mine.rank, mine.score) == (
        "bronze",
        "bronze-1",
        1,
        30,
    )
    assert mine.zone == pb.LEAGUE_ZONE_PROMOTION
    assert [e.member_id for e in mine.standings] == ["ana", "bob", "cy"]
    assert mine.seconds_left == 15 * 3600 + 6 * 86400
    assert (ended.period_id, ended.members, ended.promoted, ended.grants) == (
        "w2026-03-16", 4, 2, 2,
    )  # fmt: skip
    assert again.already_ended
    assert [(s.period_id, s.outcome, s.next_tier_id) for s in history.seasons] == [
        ("w2026-03-16", pb.SEASON_OUTCOME_PROMOTED, "silver")
    ]
    assert list(history.seasons[0].rewards) == [POINTS]
    assert (now.tier.tier_id, now.tier_index, now.cohort_id) == ("silver", 1, "")


async def test_definitions_are_versioned_and_listed(channel: grpc.aio.Channel) -> None:
    await _define(channel)
    admin = pb_grpc.LeagueAdminServiceStub(channel)
    more = pb.League()
    more.CopyFrom(LEAGUE)
    more.tiers.append(pb.LeagueTier(tier_id="gold", title="Gold"))
    more.tiers[1].promote_count = 1

    second = (await admin.UpsertLeague(pb.UpsertLeagueRequest(league=more))).league
    got = await admin.GetLeagueDefinition(pb.GetLeagueDefinitionRequest(league_id="weekly"))
    listed = await admin.ListLeagues(pb.ListLeaguesRequest())

    assert second.version == 2
    assert [t.tier_id for t in got.league.tiers] == ["bronze", "silver", "gold"]
    assert [league.league_id for league in listed.leagues] == ["weekly"]


async def test_bad_requests_are_refused_with_the_field_or_id(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    clock.current = MONDAY + dt.timedelta(hours=9)
    await _define(channel)
    admin = pb_grpc.LeagueAdminServiceStub(channel)
    players = pb_grpc.LeagueServiceStub(channel)
    top_promotes = pb.League()
    top_promotes.CopyFrom(LEAGUE)
    top_promotes.tiers[1].promote_count = 1
    unknown_board = pb.League()
    unknown_board.CopyFrom(LEAGUE)
    unknown_board.league_id, unknown_board.board_id = "other", "nope"
    reordered = pb.League()
    reordered.CopyFrom(LEAGUE)
    reordered.tiers[0].tier_id = "tin"

    assert await _refused(admin.UpsertLeague(pb.UpsertLeagueRequest(league=top_promotes))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "league.tiers[1].promote_count: must be 0: no tier is above the top",
    )
    assert await _refused(admin.UpsertLeague(pb.UpsertLeagueRequest(league=unknown_board))) == (
        grpc.StatusCode.NOT_FOUND, "board 'nope' not found",
    )  # fmt: skip
    code, _ = await _refused(admin.UpsertLeague(pb.UpsertLeagueRequest(league=reordered)))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert await _refused(
        players.GetLeague(pb.GetLeagueRequest(league_id="missing", user_id="ana"))
    ) == (grpc.StatusCode.NOT_FOUND, "league 'missing' not found")
    code, details = await _refused(
        admin.EndLeagueSeason(
            pb.EndLeagueSeasonRequest(league_id="weekly", period_id="w2026-03-16")
        )
    )
    assert (code, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "season w2026-03-16 of league weekly is still open to scores",
    )
    code, details = await _refused(
        players.ListLeagueHistory(
            pb.ListLeagueHistoryRequest(league_id="weekly", user_id="ana", page_size=101)
        )
    )
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "page_size: must be at most 100")


async def test_a_player_reads_only_their_own_league(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    await _define(channel)
    async with auth.channel(server.port, auth.token("ana", "player")) as ana:
        players = pb_grpc.LeagueServiceStub(ana)
        own = await players.GetLeague(pb.GetLeagueRequest(league_id="weekly", user_id="ana"))
        code, _ = await _refused(
            players.GetLeague(pb.GetLeagueRequest(league_id="weekly", user_id="bob"))
        )
        admin_code, _ = await _refused(
            pb_grpc.LeagueAdminServiceStub(ana).ListLeagues(pb.ListLeaguesRequest())
        )

    assert own.tier.tier_id == "bronze"
    assert code is grpc.StatusCode.PERMISSION_DENIED
    assert admin_code is grpc.StatusCode.PERMISSION_DENIED
