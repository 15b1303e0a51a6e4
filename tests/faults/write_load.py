"""Loads of writes with keys of their own: check-ins of new users, events, scores."""

from __future__ import annotations

import grpc

from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from tests.faults import game
from tests.faults.load import Attempt, Load, call

MAX_CALLS = 20_000
MAX_SECONDS = 300.0


def check_ins(channel: grpc.aio.Channel, workers: int, prefix: str) -> Load:
    """Each call checks in a user never seen before; its key is the user."""
    stub = check_in_grpc.CheckInServiceStub(channel)

    async def check_in(worker: int, n: int) -> Attempt:
        user = f"{prefix}-{worker}-{n}"
        request = check_in_pb.CheckInRequest(user_id=user, timezone="UTC")
        return await call("CheckIn", user, stub.CheckIn, request)

    return Load(check_in, workers, MAX_CALLS, MAX_SECONDS)


def events(channel: grpc.aio.Channel, workers: int, prefix: str) -> Load:
    """Each call sends a new paid order of the worker's user."""
    stub = events_grpc.EventServiceStub(channel)

    async def track(worker: int, n: int) -> Attempt:
        request = events_pb.TrackEventRequest(
            user_id=f"{prefix}-{worker}", type=game.EVENT_TYPE, value=100,
            idempotency_key=f"{prefix}-{worker}-{n}",
        )  # fmt: skip
        return await call("TrackEvent", request.idempotency_key, stub.TrackEvent, request)

    return Load(track, workers, MAX_CALLS, MAX_SECONDS)


def scores(channel: grpc.aio.Channel, workers: int, prefix: str) -> Load:
    """Each call adds a small score to one of the worker's ten members."""
    stub = board_grpc.LeaderboardServiceStub(channel)

    async def submit(worker: int, n: int) -> Attempt:
        request = board_pb.SubmitScoreRequest(
            board_id=game.BOARD, member_id=f"{prefix}-{worker}-{n % 10}", value=1 + n % 5,
            idempotency_key=f"{prefix}-{worker}-{n}",
        )  # fmt: skip
        return await call("SubmitScore", request.idempotency_key, stub.SubmitScore, request)

    return Load(submit, workers, MAX_CALLS, MAX_SECONDS)
