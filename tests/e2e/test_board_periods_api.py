"""A season board is readable once it ended, says when it starts, and lists its periods."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)


def _at(instant: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(instant)
    return stamp


def _board(board_id: str, period: pb.Period) -> pb.Board:
    return pb.Board(
        board_id=board_id,
        title=board_id,
        sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=pb.AGGREGATION_SUM,
        tie_policy=pb.TIE_POLICY_FIRST_TO_REACH,
        period=period,
        timezone="UTC",
        retention_periods=3,
    )


SEASON = pb.Period(kind=pb.PERIOD_KIND_SEASON, season_start=_at(START), season_end=_at(END))


async def test_an_ended_season_reads_as_its_last_period(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    boards = pb_grpc.LeaderboardServiceStub(channel)
    clock.current = START - dt.timedelta(days=1)
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board("sprint", SEASON)))
    ref = pb.BoardRef(board_id="sprint")

    with pytest.raises(grpc.aio.AioRpcError) as early:
        await boards.GetLeaderboard(pb.GetLeaderboardRequest(board=ref))
    clock.current = START + dt.timedelta(days=1)
    await boards.SubmitScore(
        pb.SubmitScoreRequest(board_id="sprint", member_id="ana", value=7, idempotency_key="a")
    )
    clock.current = END + dt.timedelta(days=30)
    ended = await boards.GetLeaderboard(pb.GetLeaderboardRequest(board=ref))

    assert early.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert early.value.details() == (
        "board sprint has no period yet: its season starts at 2026-03-01T00:00:00+00:00"
    )
    assert ended.period_id == "s202603010000"
    assert [(e.member_id, e.score) for e in ended.entries] == [("ana", 7)]


async def test_periods_are_listed_newest_first_with_bounds_and_finality(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    boards = pb_grpc.LeaderboardServiceStub(channel)
    clock.current = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    daily = pb.Period(kind=pb.PERIOD_KIND_DAILY)
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board("daily", daily)))
    for day in (10, 11):
        clock.current = dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)
        await boards.SubmitScore(
            pb.SubmitScoreRequest(
                board_id="daily", member_id="ana", value=1, idempotency_key=f"k{day}"
            )
        )
    clock.current = dt.datetime(2026, 3, 13, 12, tzinfo=dt.UTC)
    await admin.FinalizePeriod(
        pb.FinalizePeriodRequest(board=pb.BoardRef(board_id="daily", period_id="d2026-03-10"))
    )

    first = await boards.ListPeriods(pb.ListPeriodsRequest(board_id="daily", page_size=2))
    rest = await boards.ListPeriods(
        pb.ListPeriodsRequest(board_id="daily", page_size=2, page_token=first.next_page_token)
    )

    listed = [(p.period_id, p.final, p.current) for p in (*first.periods, *rest.periods)]
    assert listed == [
        ("d2026-03-13", False, True),
        ("d2026-03-11", False, False),
        ("d2026-03-10", True, False),
    ]
    assert first.periods[1].start.ToDatetime(dt.UTC) == dt.datetime(2026, 3, 11, tzinfo=dt.UTC)
    assert first.periods[1].end.ToDatetime(dt.UTC) == dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
    assert rest.next_page_token == ""
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board("weekly", daily)))
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await boards.ListPeriods(
            pb.ListPeriodsRequest(board_id="weekly", page_token=first.next_page_token)
        )
    assert other.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert other.value.details() == "page_token: was issued for other filters"


async def test_periods_of_a_season_before_during_and_after_it(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    boards = pb_grpc.LeaderboardServiceStub(channel)
    clock.current = START - dt.timedelta(days=1)
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board("sprint", SEASON)))
    listing = pb.ListPeriodsRequest(board_id="sprint")

    before = await boards.ListPeriods(listing)
    clock.current = END + dt.timedelta(days=1)
    after = await boards.ListPeriods(listing)

    assert list(before.periods) == []
    (season,) = after.periods
    assert (season.period_id, season.current, season.final) == ("s202603010000", True, False)
    assert season.end.ToDatetime(dt.UTC) == END
