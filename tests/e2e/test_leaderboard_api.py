"""Leaderboards through the generated stubs against a real server on real stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import rewards_pb2
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e


def _board(**changes: object) -> pb.Board:
    board = pb.Board(
        board_id="weekly-xp",
        title="Weekly XP",
        sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=pb.AGGREGATION_SUM,
        tie_policy=pb.TIE_POLICY_FIRST_TO_REACH,
        period=pb.Period(kind=pb.PERIOD_KIND_WEEKLY, week_start=1),
        timezone="Europe/Berlin",
        retention_periods=2,
        rewards=[
            pb.RankReward(
                first_rank=1,
                last_rank=1,
                rewards=[rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=500)],
            )
        ],
    )
    for name, value in changes.items():
        setattr(board, name, value)
    return board


@pytest.fixture
async def stubs(
    channel: grpc.aio.Channel,
) -> tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub]:
    admin = pb_grpc.LeaderboardAdminServiceStub(channel)
    await admin.UpsertBoard(pb.UpsertBoardRequest(board=_board()))
    return pb_grpc.LeaderboardServiceStub(channel), admin


def _submit(member: str, value: int, key: str) -> pb.SubmitScoreRequest:
    return pb.SubmitScoreRequest(
        board_id="weekly-xp", member_id=member, value=value, idempotency_key=key
    )


REF = pb.BoardRef(board_id="weekly-xp")


async def test_scores_reads_and_metadata(
    stubs: tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub],
) -> None:
    boards, _ = stubs
    for i, (member, value) in enumerate([("ann", 10), ("bob", 40), ("cy", 25), ("ann", 20)]):
        submitted = await boards.SubmitScore(_submit(member, value, f"k{i}"))
    await boards.SetMemberMetadata(
        pb.SetMemberMetadataRequest(board_id="weekly-xp", member_id="ann", display_name="Ann")
    )

    page = await boards.GetLeaderboard(pb.GetLeaderboardRequest(board=REF, page_size=2))
    around = await boards.GetAroundMe(pb.GetAroundMeRequest(board=REF, member_id="cy", size=3))
    rank = await boards.GetRank(pb.GetRankRequest(board=REF, member_id="cy"))
    friends = await boards.GetFriendsLeaderboard(
        pb.GetFriendsLeaderboardRequest(board=REF, member_ids=["cy", "ann", "zed"])
    )

    assert (submitted.period_id, submitted.score, submitted.rank) == ("w2026-03-09", 30, 2)
    assert [(e.member_id, e.score, e.rank) for e in page.entries] == [
        ("bob", 40, 1),
        ("ann", 30, 2),
    ]
    assert page.entries[1].display_name == "Ann"
    assert page.total_members == 3
    assert [e.member_id for e in around.entries] == ["bob", "ann", "cy"]
    assert (rank.entry.rank, rank.total_members) == (3, 3)
    assert rank.percentile == pytest.approx(100 / 3)
    assert [(e.member_id, e.rank) for e in friends.entries] == [("ann", 1), ("cy", 2)]


async def test_a_retried_submission_is_reported_as_a_duplicate(
    stubs: tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub],
) -> None:
    boards, _ = stubs
    first = await boards.SubmitScore(_submit("ann", 10, "same"))
    retry = await boards.SubmitScore(_submit("ann", 10, "same"))

    assert not first.duplicate
    assert retry.duplicate
    assert retry.score == 10


async def test_finalise_standings_and_rebuild(
    stubs: tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub],
    clock: MovableClock,
) -> None:
    boards, admin = stubs
    await boards.SubmitScore(_submit("ann", 10, "a"))
    await boards.SubmitScore(_submit("bob", 20, "b"))
    clock.current = dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC)
    past = pb.BoardRef(board_id="weekly-xp", period_id="w2026-03-09")

    done = await admin.FinalizePeriod(pb.FinalizePeriodRequest(board=past))
    again = await admin.FinalizePeriod(pb.FinalizePeriodRequest(board=past))
    standings = await boards.GetStandings(pb.GetStandingsRequest(board=past, page_size=10))
    rebuilt = await admin.RebuildBoard(pb.RebuildBoardRequest(board=past))
    late = pb.SubmitScoreRequest(
        board_id="weekly-xp", member_id="cy", value=5, idempotency_key="late",
        occurred_at=Timestamp(seconds=int(dt.datetime(2026, 3, 12, tzinfo=dt.UTC).timestamp())),
    )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await boards.SubmitScore(late)

    assert (done.members, done.grants, done.already_final) == (2, 1, False)
    assert again.already_final
    assert standings.final
    assert [(e.member_id, e.rank) for e in standings.entries] == [("bob", 1), ("ann", 2)]
    assert rebuilt.members == 2
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("call", "code", "needle"),
    [
        ("unknown_board", grpc.StatusCode.NOT_FOUND, "board 'nope'"),
        ("page_size_negative", grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
        ("page_size_large", grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
        ("window_large", grpc.StatusCode.INVALID_ARGUMENT, "size"),
        ("friends_large", grpc.StatusCode.INVALID_ARGUMENT, "member_ids"),
        ("score_large", grpc.StatusCode.INVALID_ARGUMENT, "value"),
        ("no_key", grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key"),
        ("bad_board", grpc.StatusCode.INVALID_ARGUMENT, "board.tie_policy"),
    ],
)
async def test_bad_input_is_refused_with_the_field_named(
    stubs: tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub],
    call: str,
    code: grpc.StatusCode,
    needle: str,
) -> None:
    boards, admin = stubs
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "unknown_board": lambda: boards.GetRank(
            pb.GetRankRequest(board=pb.BoardRef(board_id="nope"), member_id="a")
        ),
        "page_size_negative": lambda: boards.GetLeaderboard(
            pb.GetLeaderboardRequest(board=REF, page_size=-1)
        ),
        "page_size_large": lambda: boards.GetLeaderboard(
            pb.GetLeaderboardRequest(board=REF, page_size=1001)
        ),
        "window_large": lambda: boards.GetAroundMe(
            pb.GetAroundMeRequest(board=REF, member_id="a", size=1001)
        ),
        "friends_large": lambda: boards.GetFriendsLeaderboard(
            pb.GetFriendsLeaderboardRequest(board=REF, member_ids=[f"m{i}" for i in range(1001)])
        ),
        "score_large": lambda: boards.SubmitScore(_submit("a", 2**53 + 1, "k")),
        "no_key": lambda: boards.SubmitScore(_submit("a", 1, "")),
        "bad_board": lambda: admin.UpsertBoard(
            pb.UpsertBoardRequest(board=_board(tie_policy=pb.TIE_POLICY_UNSPECIFIED))
        ),
    }
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await calls[call]()

    assert raised.value.code() == code
    assert needle in str(raised.value.details())


async def test_boards_are_listed_and_a_member_can_be_removed(
    stubs: tuple[pb_grpc.LeaderboardServiceAsyncStub, pb_grpc.LeaderboardAdminServiceAsyncStub],
) -> None:
    boards, admin = stubs
    await boards.SubmitScore(_submit("ann", 10, "a"))
    await boards.SubmitScore(_submit("bob", 20, "b"))

    found = await admin.GetBoard(pb.GetBoardRequest(board_id="weekly-xp"))
    listed = await admin.ListBoards(pb.ListBoardsRequest())
    removed = await admin.RemoveMember(pb.RemoveMemberRequest(board=REF, member_id="bob"))
    again = await admin.RemoveMember(pb.RemoveMemberRequest(board=REF, member_id="bob"))
    page = await boards.GetLeaderboard(pb.GetLeaderboardRequest(board=REF, page_size=10))

    assert (found.board.title, found.board.version) == ("Weekly XP", 1)
    assert found.board.period.kind == pb.PERIOD_KIND_WEEKLY
    assert [b.board_id for b in listed.boards] == ["weekly-xp"]
    assert removed.removed
    assert not again.removed
    assert [(e.member_id, e.rank) for e in page.entries] == [("ann", 1)]
