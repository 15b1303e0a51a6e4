"""The client's stream decisions without a server: retry pauses, resume positions, reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest

from engagement_client import RetryPolicy, Watching, is_idempotent
from engagement_client.gen.engagement.v1 import leaderboard_pb2, live_pb2
from engagement_client.retry import retry_pause
from engagement_client.watch import Resume

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
POLICY = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.5, max_backoff_seconds=0.5)


def test_a_pause_only_for_unavailable_on_a_repeatable_call_with_attempts_and_time_left() -> None:
    assert retry_pause(POLICY, 1, UNAVAILABLE, True, remaining=10) is not None
    assert retry_pause(POLICY, 1, grpc.StatusCode.INTERNAL, True, remaining=10) is None
    assert retry_pause(POLICY, 1, UNAVAILABLE, False, remaining=10) is None
    assert retry_pause(POLICY, 3, UNAVAILABLE, True, remaining=10) is None
    # The pause is at most 0.5 s; one that may reach the deadline is not taken.
    assert retry_pause(POLICY, 1, UNAVAILABLE, True, remaining=0.0) is None


def test_a_watch_is_safe_to_repeat() -> None:
    request = live_pb2.WatchUserRequest(user_id="ana")
    assert is_idempotent("/engagement.v1.LiveService/WatchUser", request)


def _update(feed_id: str, kind: str = "task_progress") -> live_pb2.LiveUpdate:
    update = live_pb2.LiveUpdate(id=feed_id)
    getattr(update, kind).SetInParent()
    return update


def _rank(rank: int, score: int, board: str = "all") -> live_pb2.LiveUpdate:
    change = live_pb2.RankChange(
        board=leaderboard_pb2.BoardRef(board_id=board), period_id="p", rank=rank, score=score
    )
    return live_pb2.LiveUpdate(id="1-0", rank_changed=change)


def test_feed_updates_at_or_before_the_position_are_dropped() -> None:
    resume = Resume("5-0")
    assert not resume.admit(_update("4-9"))
    assert not resume.admit(_update("5-0"))
    assert resume.admit(_update("5-1"))
    assert resume.position == "5-1"
    assert not resume.admit(_update("5-1"))


def test_heartbeats_and_gaps_state_the_position_even_below_the_old_one() -> None:
    resume = Resume("")
    assert resume.admit(_update("7-0", "heartbeat"))
    assert resume.position == "7-0"
    # A gap after the feed started anew: its position is the feed's, below the old one.
    assert resume.admit(_update("3-0", "gap"))
    assert resume.admit(_update("3-1"))
    assert resume.position == "3-1"


def test_a_rank_is_passed_on_only_when_it_differs_from_the_last_one() -> None:
    resume = Resume("")
    assert resume.admit(_rank(2, 10))
    assert not resume.admit(_rank(2, 10))  # a new stream's rank at its start
    assert resume.admit(_rank(2, 10, board="other"))
    assert resume.admit(_rank(1, 12))
    assert resume.position == ""  # ranks say nothing of the feed's position


class _Call:
    """One scripted stream: its updates, then an error (or a clean end)."""

    def __init__(self, items: Sequence[live_pb2.LiveUpdate], error: grpc.StatusCode | None):
        self._items, self._error = items, error
        self.cancelled = False

    async def _responses(self) -> AsyncIterator[live_pb2.WatchUserResponse]:
        for item in self._items:
            yield live_pb2.WatchUserResponse(update=item)
        if self._error is not None:
            empty = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(self._error, empty, empty, "scripted", "")

    def __aiter__(self) -> AsyncIterator[live_pb2.WatchUserResponse]:
        return self._responses()

    def cancel(self) -> bool:
        self.cancelled = True
        return True


class _Stub:
    def __init__(self, *calls: _Call) -> None:
        self.calls = list(calls)
        self.after_ids: list[str] = []

    def WatchUser(self, request: live_pb2.WatchUserRequest) -> _Call:  # noqa: N802 - the RPC
        self.after_ids.append(request.after_id)
        return self.calls[len(self.after_ids) - 1]


async def _no_sleep(seconds: float) -> None:
    return None


def _watching(stub: _Stub, after: str = "", policy: RetryPolicy = POLICY) -> Watching:
    request = live_pb2.WatchUserRequest(user_id="ana", after_id=after)
    return Watching(stub, request, policy, sleep=_no_sleep)  # type: ignore[arg-type]


async def _ids(watching: Watching) -> list[str]:
    return [update.id async for update in watching]


async def test_a_dropped_stream_resumes_after_the_last_position_passed_on() -> None:
    stub = _Stub(
        _Call([_update("1-0", "heartbeat"), _update("2-0"), _update("3-0")], UNAVAILABLE),
        # The new stream repeats 3-0 (as a stream resumed from an older position would).
        _Call([_update("3-0", "heartbeat"), _update("3-0"), _update("4-0")], None),
    )
    watching = _watching(stub)
    assert await _ids(watching) == ["1-0", "2-0", "3-0", "3-0", "4-0"]
    assert stub.after_ids == ["", "3-0"]
    assert watching.position == "4-0"
    assert all(call.cancelled for call in stub.calls)


async def test_an_error_other_than_unavailable_is_raised_at_once() -> None:
    stub = _Stub(_Call([_update("1-0", "heartbeat")], grpc.StatusCode.PERMISSION_DENIED))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _ids(_watching(stub))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(stub.after_ids) == 1


async def test_a_stream_that_fails_to_open_is_not_reopened() -> None:
    # The opening had its own retries within the deadline (StreamOpening).
    stub = _Stub(_Call([], UNAVAILABLE), _Call([], None))
    with pytest.raises(grpc.aio.AioRpcError):
        await _ids(_watching(stub))
    assert len(stub.after_ids) == 1


async def test_streams_that_keep_dropping_after_opening_end_after_max_attempts() -> None:
    flapping = [_Call([_update("9-0", "heartbeat")], UNAVAILABLE) for _ in range(5)]
    stub = _Stub(*flapping)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _ids(_watching(stub, after="9-0"))
    assert raised.value.code() == UNAVAILABLE
    assert stub.after_ids == ["9-0"] * POLICY.max_attempts


async def test_a_stream_that_stayed_up_resets_the_count_of_drops() -> None:
    lasting = [_update("1-0", "heartbeat"), _update("1-0", "heartbeat")]
    stub = _Stub(*[_Call(lasting, UNAVAILABLE) for _ in range(5)], _Call([], None))
    assert len(await _ids(_watching(stub))) == 10
    assert len(stub.after_ids) == 6


async def test_closing_the_watch_cancels_its_stream() -> None:
    stub = _Stub(_Call([_update("1-0", "heartbeat"), _update("2-0")], None))
    async with _watching(stub) as watching:
        first: Any = await anext(watching)
        assert first.id == "1-0"
    assert stub.calls[0].cancelled
