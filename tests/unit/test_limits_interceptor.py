"""The limits interceptor: the user a request names, and calls already past their deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import pytest

from service.adapters.rate_limits import Rate, RateLimits
from service.entrypoints.grpc_api.limits import LimitsInterceptor, user_of
from service.gen.engagement.v1 import events_pb2, leaderboard_pb2, rules_admin_pb2
from tests.support.clock import MovableClock


class _Aborted(Exception):
    pass


class _ExpiredContext:
    """The parts of a servicer context the interceptor reads, for a call already expired."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def time_remaining(self) -> float:
        return 0.0

    async def abort(self, code: grpc.StatusCode, details: str, **_: Any) -> None:
        self.aborted = code, details
        raise _Aborted


async def test_an_expired_call_never_reaches_its_handler() -> None:
    off = Rate(0, 0)
    clock = MovableClock(dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
    limits = LimitsInterceptor(4, RateLimits(None, "p", clock, user=off, credential=off))  # type: ignore[arg-type]
    started = []

    async def handler(request: Any, context: Any) -> str:
        started.append(request)
        return "done"

    for method in ("/engagement.v1.CheckInService/CheckIn", "/grpc.health.v1.Health/Check"):

        async def continuation(_: grpc.HandlerCallDetails) -> Any:
            return grpc.unary_unary_rpc_method_handler(handler)

        details: Any = type("Details", (), {"method": method, "invocation_metadata": ()})()
        wrapped = await limits.intercept_service(continuation, details)
        context = _ExpiredContext()
        with pytest.raises(_Aborted):
            await wrapped.unary_unary("request", context)  # type: ignore[arg-type, misc]
        assert context.aborted is not None
        assert context.aborted[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert started == []
    assert limits.expired == 2
    assert limits.in_flight == 0


def test_the_user_of_a_request_is_its_user_id_or_member_id() -> None:
    assert user_of(events_pb2.TrackEventRequest(user_id="ann")) == "ann"
    assert user_of(leaderboard_pb2.GetRankRequest(member_id="bob")) == "bob"
    # Many users in one call, or none: only the credential's bucket applies.
    batch = events_pb2.TrackEventsRequest(events=[events_pb2.TrackEventRequest(user_id="ann")])
    assert user_of(batch) == ""
    assert user_of(leaderboard_pb2.GetFriendsLeaderboardRequest(member_ids=["a", "b"])) == ""
    assert user_of(rules_admin_pb2.ListDefinitionsRequest()) == ""
    assert user_of(b"not a message") == ""
