"""What `make bench` stores before it measures: the program, the game, and users with progress.

Template users go through the API (check-in, score, segments, events); the rest of the
population are copies of them made in Postgres (see bench.populate), and the bench board is
filled to its size there and then rebuilt in Redis through `RebuildBoard`."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from bench.game import (
    BADGE_COUNT,
    BOARD_COUNT,
    EVENT_TYPES,
    HOT_TYPE,
    LEVEL_COUNT,
    TASK_COUNT,
    VIP,
    boosts,
    caps,
    load_game,
)
from bench.populate import populate
from bench.scenarios import BOARD, GOAL_ID, event_attributes, event_value
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import events_pb2 as ev_pb
from service.gen.engagement.v1 import events_pb2_grpc as ev_grpc
from service.gen.engagement.v1 import goals_pb2 as goals_pb
from service.gen.engagement.v1 import goals_pb2_grpc as goals_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from service.protobuf_time import timestamp

# Events each seeded user sends before the run: eight of the ten types, so that most tasks,
# badges and boards have some progress to read and to add to.
EVENTS_PER_USER = 8
TEMPLATE_USERS = 1000
BATCH = 500  # TrackEvents' maximum
TIMEZONES = (
    "UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo",
    "America/Sao_Paulo", "Asia/Kolkata", "Australia/Sydney",
)  # fmt: skip
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Population:
    """How many users to seed, and how many members the bench board gets."""

    users: int  # at least TEMPLATE_USERS
    board_members: int  # at least `users`


@dataclass(frozen=True, slots=True)
class Seeded:
    definitions: int
    users: int
    board_members: int
    events: int
    rejected: int
    seconds: float
    rebuild_seconds: float

    def describe(self) -> str:
        return (
            f"seeded in {self.seconds:.1f} s: {TASK_COUNT} tasks, {BADGE_COUNT} badges, "
            f"{LEVEL_COUNT} levels, {len(boosts())} boosts, {len(caps())} caps, {BOARD_COUNT} "
            f"boards; {self.users:,} users, each with a check-in and the rule state of "
            f"{EVENTS_PER_USER} events ({self.events:,} events through the API, {self.rejected} "
            f"rejected); board {BOARD.board_id!r} with {self.board_members:,} members, rebuilt "
            f"in Redis in {self.rebuild_seconds:.1f} s"
        )


async def _bounded(calls: Iterable[Awaitable[T]], limit: int) -> list[T]:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with semaphore:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


async def _program(channel: grpc.aio.Channel) -> None:
    reward = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
    program = admin_pb.CheckInProgram(cycle=[admin_pb.CycleDay(rewards=[reward])] * 7)
    await admin_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        admin_pb.UpdateCheckInProgramRequest(program=program)
    )


async def _goal(channel: grpc.aio.Channel) -> None:
    """A community goal on the hot event type, open for the run; its milestones lie beyond
    what a run reaches, so the figures are those of counting and reading, not of payouts."""
    now = dt.datetime.now(dt.UTC)
    reward = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
    goal = goals_pb.Goal(
        goal_id=GOAL_ID, title="Everyone's purchases", scope=goals_pb.GOAL_SCOPE_COMMUNITY,
        metric=goals_pb.GOAL_METRIC_EVENT_COUNT, event_types=[HOT_TYPE],
        starts_at=timestamp(now - dt.timedelta(hours=1)),
        ends_at=timestamp(now + dt.timedelta(days=30)),
        milestones=[goals_pb.GoalMilestone(target=10**12, rewards=[reward])],
    )  # fmt: skip
    await goals_grpc.GoalAdminServiceStub(channel).UpsertGoal(goals_pb.UpsertGoalRequest(goal=goal))


async def _user(channel: grpc.aio.Channel, i: int) -> None:
    """Check the user in, put them on the bench board, and make every tenth one a VIP."""
    user_id = f"seed-{i}"
    await pb_grpc.CheckInServiceStub(channel).CheckIn(
        pb.CheckInRequest(user_id=user_id, timezone="UTC")
    )
    await lb_grpc.LeaderboardServiceStub(channel).SubmitScore(
        lb_pb.SubmitScoreRequest(
            board_id=BOARD.board_id, member_id=user_id, value=i % 97 + 1, idempotency_key=user_id
        )
    )
    if i % 10 == 0:
        await rules_grpc.RulesAdminServiceStub(channel).SetUserSegments(
            rules_pb.SetUserSegmentsRequest(user_id=user_id, segments=[VIP])
        )


def _events() -> list[ev_pb.TrackEventRequest]:
    """Each user's events, user by user; the first sets the user's timezone."""
    found = []
    for i in range(TEMPLATE_USERS):
        for k in range(EVENTS_PER_USER):
            n = i * EVENTS_PER_USER + k
            event_type = EVENT_TYPES[(i + k) % len(EVENT_TYPES)]
            found.append(
                ev_pb.TrackEventRequest(
                    user_id=f"seed-{i}",
                    type=event_type,
                    value=event_value(n),
                    attributes=event_attributes(n, event_type),
                    idempotency_key=f"seed-{i}-{k}",
                    timezone=TIMEZONES[i % len(TIMEZONES)] if k == 0 else "",
                )
            )
    return found


async def _track(channel: grpc.aio.Channel) -> tuple[int, int]:
    """Send the seeded events in batches, one after the other; how many were sent and how many
    a cap rejected.

    Not concurrently: two batches that are the first to score a board's period both insert its
    period key, and the second waits for the first to commit (or they deadlock).
    """
    events = _events()
    stub = ev_grpc.EventServiceStub(channel)
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    responses = [
        await stub.TrackEvents(ev_pb.TrackEventsRequest(events=batch)) for batch in batches
    ]
    rejected = sum(
        effects.status == ev_pb.EVENT_STATUS_REJECTED
        for response in responses
        for effects in response.effects
    )
    return len(events), rejected


async def _rebuild(channel: grpc.aio.Channel) -> float:
    """Load the bench board's rows from Postgres into Redis; how long it took."""
    started = time.perf_counter()
    await lb_grpc.LeaderboardAdminServiceStub(channel).RebuildBoard(
        lb_pb.RebuildBoardRequest(board=BOARD), timeout=600
    )
    return time.perf_counter() - started


async def seed(channel: grpc.aio.Channel, database_url: str, population: Population) -> Seeded:
    """Store the program and the game, give each template user a check-in, a score and some
    progress in the rules, then copy them up to the population."""
    started = time.perf_counter()
    await _program(channel)
    await _goal(channel)
    definitions = await load_game(channel, dt.datetime.now(dt.UTC).date())
    await _bounded((_user(channel, i) for i in range(TEMPLATE_USERS)), 16)
    events, rejected = await _track(channel)
    await populate(
        database_url, templates=TEMPLATE_USERS, users=population.users,
        board=BOARD.board_id, members=population.board_members,
    )  # fmt: skip
    rebuild_seconds = await _rebuild(channel)
    return Seeded(
        definitions, population.users, population.board_members, events, rejected,
        time.perf_counter() - started, rebuild_seconds,
    )  # fmt: skip
