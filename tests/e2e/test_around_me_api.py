"""GetAroundMe through the server: the window shifts at the edges instead of shrinking."""

from __future__ import annotations

import grpc
import pytest

from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

REF = pb.BoardRef(board_id="ten")


@pytest.fixture
async def board(channel: grpc.aio.Channel) -> pb_grpc.LeaderboardServiceAsyncStub:
    """A board of ten members, m01 (rank 1) to m10 (rank 10)."""
    definition = pb.Board(
        board_id="ten", title="Ten", sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=pb.AGGREGATION_MAX, tie_policy=pb.TIE_POLICY_COMPETITION,
        period=pb.Period(kind=pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
    )  # fmt: skip
    await pb_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        pb.UpsertBoardRequest(board=definition)
    )
    stub = pb_grpc.LeaderboardServiceStub(channel)
    for n in range(1, 11):
        await stub.SubmitScore(
            pb.SubmitScoreRequest(
                board_id="ten", member_id=f"m{n:02}", value=100 - n, idempotency_key=f"k{n}"
            )
        )
    return stub


@pytest.mark.parametrize(
    ("member", "size", "window"),
    [
        ("m05", 5, "m03 m04 m05 m06 m07"),  # centred
        ("m05", 4, "m04 m05 m06 m07"),  # (size - 1) // 2 above
        ("m01", 5, "m01 m02 m03 m04 m05"),  # shifted down at the top
        ("m02", 5, "m01 m02 m03 m04 m05"),
        ("m10", 5, "m06 m07 m08 m09 m10"),  # shifted up at the bottom
        ("m09", 4, "m07 m08 m09 m10"),
        ("m05", 1000, " ".join(f"m{n:02}" for n in range(1, 11))),  # the whole board
        ("nobody", 5, ""),
    ],
)
async def test_the_window_keeps_min_of_size_and_members(
    board: pb_grpc.LeaderboardServiceAsyncStub, member: str, size: int, window: str
) -> None:
    around = await board.GetAroundMe(pb.GetAroundMeRequest(board=REF, member_id=member, size=size))

    assert " ".join(e.member_id for e in around.entries) == window
    assert [e.rank for e in around.entries] == [int(e.member_id[1:]) for e in around.entries]
