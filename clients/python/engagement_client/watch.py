"""A WatchUser stream that survives restarts and dropped connections: it resumes where it was."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Iterable

import grpc

from engagement_client.gen.engagement.v1 import leaderboard_pb2, live_pb2, live_pb2_grpc
from engagement_client.retry import RetryPolicy, Sleep

_FEED_ID = re.compile(r"(\d+)-(\d+)")
# Per stream, never kept in the feed: they repeat the position of the last update before.
_STREAM_KINDS = frozenset({"rank_changed", "heartbeat", "gap"})


def _order(feed_id: str) -> tuple[int, int] | None:
    match = _FEED_ID.fullmatch(feed_id)
    return (int(match[1]), int(match[2])) if match else None


def _board_key(board: leaderboard_pb2.BoardRef) -> tuple[str, str, bool, str]:
    return (board.board_id, board.partition, board.rookie, board.period_id)


class Resume:
    """What a watch has delivered: the position to resume from, and the last rank per board.

    A resumed stream starts after `position`, so feed updates come once; the server's
    heartbeats and gaps state the stream's position, and the client takes it (after a gap
    the feed may have started anew below the old position). A new stream sends each
    board's rank again: it is passed on only when it differs from the last one passed.
    """

    def __init__(self, after: str = "") -> None:
        self.position = after
        self._ranks: dict[tuple[str, str, bool, str], tuple[str, int, int, int]] = {}

    def admit(self, update: live_pb2.LiveUpdate) -> bool:
        """Whether to pass `update` on; records what it tells."""
        kind = update.WhichOneof("kind")
        if kind == "rank_changed":
            change = update.rank_changed
            key = _board_key(change.board)
            seen = (change.period_id, change.rank, change.score, change.total_members)
            if self._ranks.get(key) == seen:
                return False
            self._ranks[key] = seen
            return True
        if kind in _STREAM_KINDS:
            if update.id:
                self.position = update.id
            return True
        # A feed update, also of a kind this client does not know yet.
        new, last = _order(update.id), _order(self.position)
        if new is not None and last is not None and new <= last:
            return False
        if update.id:
            self.position = update.id
        return True


async def _updates(
    stub: live_pb2_grpc.LiveServiceAsyncStub,
    request: live_pb2.WatchUserRequest,
    resume: Resume,
    policy: RetryPolicy,
    sleep: Sleep,
) -> AsyncGenerator[live_pb2.LiveUpdate, None]:
    drops = 0
    while True:
        attempt = live_pb2.WatchUserRequest()
        attempt.CopyFrom(request)
        attempt.after_id = resume.position
        call = stub.WatchUser(attempt)
        received = 0
        try:
            async for response in call:
                received += 1
                # Past its opening the stream was up: a later drop starts the count anew.
                if received == 2:
                    drops = 0
                if resume.admit(response.update):
                    yield response.update
            return
        except grpc.aio.AioRpcError as exc:
            # An opening that failed had its own retries within the default deadline.
            if exc.code() != grpc.StatusCode.UNAVAILABLE or received == 0:
                raise
            drops += 1
            if drops >= policy.max_attempts:
                raise
        finally:
            call.cancel()
        await sleep(policy.backoff(drops))


class Watching:
    """A user's live updates (`live_pb2.LiveUpdate`), across reconnections.

    On UNAVAILABLE after the stream opened (a server restart, a dropped connection) it
    reconnects after the retry policy's backoff and resumes after the last position it
    passed on, so each feed update comes once. Each reconnection opens like any stream (see
    `StreamOpening`): if that fails within the default deadline, or streams drop right after
    opening `max_attempts` times in a row, the last error is raised; other errors are raised
    at once. A stream the server ends with OK ends the iteration. Cancelling the consuming
    task, leaving `async with`, or `aclose()` closes the stream at once.
    """

    def __init__(
        self,
        stub: live_pb2_grpc.LiveServiceAsyncStub,
        request: live_pb2.WatchUserRequest,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._resume = Resume(request.after_id)
        self._updates = _updates(stub, request, self._resume, policy, sleep)

    @property
    def position(self) -> str:
        """Where the watch is: pass it as `after` to resume it later, also after an error."""
        return self._resume.position

    def __aiter__(self) -> Watching:
        return self

    async def __anext__(self) -> live_pb2.LiveUpdate:
        return await anext(self._updates)

    async def aclose(self) -> None:
        await self._updates.aclose()

    async def __aenter__(self) -> Watching:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def watch_request(
    user_id: str, boards: Iterable[leaderboard_pb2.BoardRef | str], after: str
) -> live_pb2.WatchUserRequest:
    """A WatchUserRequest; a board given by its id alone is its current period."""
    refs = [
        leaderboard_pb2.BoardRef(board_id=board) if isinstance(board, str) else board
        for board in boards
    ]
    return live_pb2.WatchUserRequest(user_id=user_id, after_id=after, boards=refs)
