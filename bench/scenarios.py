"""The calls a benchmark can drive; each is one RPC through the generated stubs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc

Call = Callable[[grpc.aio.Channel, int, int], Awaitable[object]]

# Existing users that the read scenarios ask about; seeded before the run.
SEEDED_USERS = 1000


def _user(worker: int, n: int) -> str:
    return f"bench-{worker}-{n}"


async def noop(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    """The baseline: the health check, answered from memory in the same server process."""
    return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())


async def check_in(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    """A first check-in of a new user: state, day and grant rows in one transaction."""
    request = pb.CheckInRequest(user_id=_user(worker, n), timezone="Europe/Berlin")
    return await pb_grpc.CheckInServiceStub(channel).CheckIn(request)


async def check_in_repeat(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    """A repeat on the same day: the idempotent path."""
    request = pb.CheckInRequest(user_id=f"seed-{n % SEEDED_USERS}")
    return await pb_grpc.CheckInServiceStub(channel).CheckIn(request)


async def get_streak(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    request = pb.GetStreakRequest(user_id=f"seed-{n % SEEDED_USERS}")
    return await pb_grpc.CheckInServiceStub(channel).GetStreak(request)


async def get_calendar(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    request = pb.GetCheckInCalendarRequest(user_id=f"seed-{n % SEEDED_USERS}")
    return await pb_grpc.CheckInServiceStub(channel).GetCheckInCalendar(request)


BOARD = lb_pb.BoardRef(board_id="bench")


async def submit_score(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    """A score for one of the seeded members: ledger, aggregate, then the Redis copy."""
    request = lb_pb.SubmitScoreRequest(
        board_id="bench",
        member_id=f"seed-{n % SEEDED_USERS}",
        value=n % 97 + 1,
        idempotency_key=f"bench-{worker}-{n}",
    )
    return await lb_grpc.LeaderboardServiceStub(channel).SubmitScore(request)


async def top_100(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    request = lb_pb.GetLeaderboardRequest(board=BOARD, page=1, page_size=100)
    return await lb_grpc.LeaderboardServiceStub(channel).GetLeaderboard(request)


async def around_me(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    request = lb_pb.GetAroundMeRequest(board=BOARD, member_id=f"seed-{n % SEEDED_USERS}", size=25)
    return await lb_grpc.LeaderboardServiceStub(channel).GetAroundMe(request)


async def get_rank(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    request = lb_pb.GetRankRequest(board=BOARD, member_id=f"seed-{n % SEEDED_USERS}")
    return await lb_grpc.LeaderboardServiceStub(channel).GetRank(request)


# A mobile app's traffic, in twentieths: opening the app reads the streak and the player's rank
# most often; checking in and scoring are the writes.
MIXED_WEIGHTS: tuple[tuple[Call, int], ...] = (
    (check_in, 2),
    (get_streak, 5),
    (get_calendar, 2),
    (submit_score, 3),
    (get_rank, 4),
    (around_me, 2),
    (top_100, 2),
)
_MIXED = [call for call, weight in MIXED_WEIGHTS for _ in range(weight)]


async def mixed(channel: grpc.aio.Channel, worker: int, n: int) -> object:
    """The mobile-app profile: each call picks a scenario by the weights above."""
    return await _MIXED[n % len(_MIXED)](channel, worker, n)


SCENARIOS: dict[str, Call] = {
    "noop": noop,
    "check_in": check_in,
    "check_in_repeat": check_in_repeat,
    "get_streak": get_streak,
    "get_calendar": get_calendar,
    "submit_score": submit_score,
    "top_100": top_100,
    "around_me": around_me,
    "get_rank": get_rank,
    "mixed": mixed,
}


async def seed(channel: grpc.aio.Channel) -> None:
    """Check in the users the read scenarios ask about, and put each on the bench board."""
    board = lb_pb.Board(
        board_id="bench",
        title="Bench",
        sort_order=lb_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=lb_pb.AGGREGATION_SUM,
        tie_policy=lb_pb.TIE_POLICY_FIRST_TO_REACH,
        period=lb_pb.Period(kind=lb_pb.PERIOD_KIND_ALL_TIME),
    )
    await lb_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        lb_pb.UpsertBoardRequest(board=board)
    )
    stub = pb_grpc.CheckInServiceStub(channel)
    for i in range(SEEDED_USERS):
        await stub.CheckIn(pb.CheckInRequest(user_id=f"seed-{i}", timezone="UTC"))
        await submit_score(channel, -1, i)
