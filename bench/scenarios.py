"""The calls a benchmark can drive; each is one RPC through the generated stubs."""

from __future__ import annotations

import uuid

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.game import CATEGORIES, HOT_TYPE, SUMMED
from bench.load import Call, Turn
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import events_pb2 as ev_pb
from service.gen.engagement.v1 import events_pb2_grpc as ev_grpc
from service.gen.engagement.v1 import goals_pb2 as goals_pb
from service.gen.engagement.v1 import goals_pb2_grpc as goals_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc


async def noop(channel: grpc.aio.Channel, turn: Turn) -> object:
    """The baseline: the health check, answered from memory in the same server process."""
    return await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())


async def check_in(channel: grpc.aio.Channel, turn: Turn) -> object:
    """A first check-in of a new user: state, day and grant rows in one transaction."""
    request = pb.CheckInRequest(user_id=turn.new_user(), timezone="Europe/Berlin")
    return await pb_grpc.CheckInServiceStub(channel).CheckIn(request)


async def check_in_repeat(channel: grpc.aio.Channel, turn: Turn) -> object:
    """A repeat on the same day: the idempotent path."""
    request = pb.CheckInRequest(user_id=turn.seeded_user())
    return await pb_grpc.CheckInServiceStub(channel).CheckIn(request)


async def get_streak(channel: grpc.aio.Channel, turn: Turn) -> object:
    request = pb.GetStreakRequest(user_id=turn.seeded_user())
    return await pb_grpc.CheckInServiceStub(channel).GetStreak(request)


async def get_calendar(channel: grpc.aio.Channel, turn: Turn) -> object:
    request = pb.GetCheckInCalendarRequest(user_id=turn.seeded_user())
    return await pb_grpc.CheckInServiceStub(channel).GetCheckInCalendar(request)


BOARD = lb_pb.BoardRef(board_id="bench")


async def submit_score(channel: grpc.aio.Channel, turn: Turn) -> object:
    """A score for one of the seeded members: ledger, aggregate, then the Redis copy."""
    request = lb_pb.SubmitScoreRequest(
        board_id="bench",
        member_id=turn.seeded_user(),
        value=turn.n % 97 + 1,
        idempotency_key=f"bench-{uuid.uuid4().hex}",  # unique across scenarios and runs
    )
    return await lb_grpc.LeaderboardServiceStub(channel).SubmitScore(request)


async def top_100(channel: grpc.aio.Channel, turn: Turn) -> object:
    request = lb_pb.GetLeaderboardRequest(board=BOARD, page=1, page_size=100)
    return await lb_grpc.LeaderboardServiceStub(channel).GetLeaderboard(request)


async def around_me(channel: grpc.aio.Channel, turn: Turn) -> object:
    request = lb_pb.GetAroundMeRequest(board=BOARD, member_id=turn.seeded_user(), size=25)
    return await lb_grpc.LeaderboardServiceStub(channel).GetAroundMe(request)


async def get_rank(channel: grpc.aio.Channel, turn: Turn) -> object:
    request = lb_pb.GetRankRequest(board=BOARD, member_id=turn.seeded_user())
    return await lb_grpc.LeaderboardServiceStub(channel).GetRank(request)


def event_value(n: int) -> int:
    """An amount of 1 to 200, e.g. a purchase's total in currency units."""
    return 1 + n * 53 % 200


def event_attributes(n: int, event_type: str) -> dict[str, str]:
    """What an app reports with an event; most task and badge conditions test these."""
    attributes = {
        "category": CATEGORIES[n % len(CATEGORIES)],
        "channel": ("app", "web")[n % 3 == 0],
    }
    if event_type in SUMMED:
        attributes["amount"] = str(n * 37 % 1000)
    if n % 10 < 3:
        attributes["campaign"] = "spring"
    return attributes


async def track_event(channel: grpc.aio.Channel, turn: Turn) -> object:
    """A purchase by a seeded user, never seen before: 7 tasks, 6 badges, 2 boards, a boost and
    the caps follow the type. Returns "applied", or "rejected" when a cap turned it down."""
    request = ev_pb.TrackEventRequest(
        user_id=turn.seeded_user(),
        type=HOT_TYPE,
        value=event_value(turn.n),
        attributes=event_attributes(turn.n, HOT_TYPE),
        idempotency_key=f"bench-{uuid.uuid4().hex}",  # unique across scenarios and runs
    )
    response = await ev_grpc.EventServiceStub(channel).TrackEvent(request)
    return "rejected" if response.effects.status == ev_pb.EVENT_STATUS_REJECTED else "applied"


async def get_profile(channel: grpc.aio.Channel, turn: Turn) -> object:
    """A seeded user's level and XP."""
    request = player_pb.GetProfileRequest(user_id=turn.seeded_user())
    return await player_grpc.PlayerServiceStub(channel).GetProfile(request)


async def list_tasks(channel: grpc.aio.Channel, turn: Turn) -> object:
    """The tasks a seeded user sees, with progress in their current windows."""
    request = player_pb.ListTasksRequest(user_id=turn.seeded_user())
    return await player_grpc.PlayerServiceStub(channel).ListTasks(request)


GOAL_ID = "bench-goal"


async def get_goal(channel: grpc.aio.Channel, turn: Turn) -> object:
    """The community goal's progress and a seeded user's part in it."""
    request = goals_pb.GetGoalRequest(goal_id=GOAL_ID, user_id=turn.seeded_user())
    return await goals_grpc.GoalServiceStub(channel).GetGoal(request)


async def goal_under_writes(channel: grpc.aio.Channel, turn: Turn) -> object:
    """Half reads of the goal, half purchases that count for it: its total row is
    incremented by every group commit while it is read."""
    return await (get_goal if turn.n % 2 else track_event)(channel, turn)


# A mobile app's traffic, in thirtieths: opening the app reads the streak, the player's rank,
# profile and tasks most often; checking in, scoring and the events that the app's actions
# cause (TrackEvent) are the writes.
MIXED_WEIGHTS: tuple[tuple[Call, int], ...] = (
    (check_in, 2),
    (get_streak, 5),
    (get_calendar, 2),
    (submit_score, 3),
    (get_rank, 4),
    (around_me, 2),
    (top_100, 2),
    (track_event, 4),
    (get_profile, 3),
    (list_tasks, 3),
)
_MIXED = [call for call, weight in MIXED_WEIGHTS for _ in range(weight)]


async def mixed(channel: grpc.aio.Channel, turn: Turn) -> object:
    """The mobile-app profile: each call picks a scenario by the weights above."""
    return await _MIXED[turn.n % len(_MIXED)](channel, turn)


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
    "track_event": track_event,
    "get_profile": get_profile,
    "list_tasks": list_tasks,
    "get_goal": get_goal,
    "goal_under_writes": goal_under_writes,
    "mixed": mixed,
}
