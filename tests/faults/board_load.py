"""Scores and board reads under load, and a judge of every answer against what was sent.

The board holds fixed members far above everyone else ("top"), seeded before the load, and
members that writers keep scoring, each member by one writer at a time ("live"). So a read is
right only if it shows the top members exactly, ranks every live member below them, and gives
a live member a score it can have had: no more than it was sent, and not nothing once one of
its scores was acknowledged.
"""

from __future__ import annotations

import grpc

from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from tests.faults import game
from tests.faults.load import Attempt, Load, call

TOP = 10
LIVE_PER_WRITER = 10
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def top_members() -> list[tuple[str, int]]:
    return [(f"top-{i:02}", 10**12 - i * 1000) for i in range(TOP)]


async def seed_top(channel: grpc.aio.Channel) -> None:
    stub = pb_grpc.LeaderboardServiceStub(channel)
    for member, value in top_members():
        await stub.SubmitScore(
            pb.SubmitScoreRequest(
                board_id=game.BOARD, member_id=member, value=value, idempotency_key=member
            )
        )


def _live(worker: int, n: int) -> str:
    return f"live-{worker}-{n % LIVE_PER_WRITER}"


class BoardLoad:
    """Writers submitting small scores for their own live members, and readers of the top
    page and of live members' ranks."""

    def __init__(self, channel: grpc.aio.Channel, writers: int = 4, readers: int = 2) -> None:
        self._stub = pb_grpc.LeaderboardServiceStub(channel)
        self._writers = writers
        self.writes = Load(self._write, writers, max_calls=30_000, max_seconds=300)
        self.reads = Load(self._read, readers, max_calls=30_000, max_seconds=300)

    def start(self) -> BoardLoad:
        self.writes.start()
        self.reads.start()
        return self

    async def stop(self) -> None:
        await self.writes.stop()
        await self.reads.stop()

    async def _write(self, worker: int, n: int) -> Attempt:
        request = pb.SubmitScoreRequest(
            board_id=game.BOARD, member_id=_live(worker, n), value=1 + n % 5,
            idempotency_key=f"score-{worker}-{n}",
        )  # fmt: skip
        return await call("SubmitScore", request.idempotency_key, self._stub.SubmitScore, request)

    async def _read(self, worker: int, n: int) -> Attempt:
        if n % 2 == 0:
            page = pb.GetLeaderboardRequest(board=game.REF, page=1, page_size=TOP)
            return await call("GetLeaderboard", "top", self._stub.GetLeaderboard, page)
        member = _live(n // 2 % self._writers, n // 2 // self._writers)
        rank = pb.GetRankRequest(board=game.REF, member_id=member)
        return await call("GetRank", member, self._stub.GetRank, rank)

    def wrong(self) -> list[str]:
        """Every answer that no true state of the board could have given."""
        problems = [self._wrong_read(a) for a in self.reads.attempts]
        problems += [self._wrong_write(a) for a in self.writes.attempts]
        return [p for p in problems if p]

    def _sent(self, member: str, until: float) -> int:
        return sum(
            a.request.value
            for a in self.writes.attempts
            if a.request.member_id == member and a.started <= until
        )

    def _acknowledged_before(self, member: str, moment: float) -> bool:
        return any(
            a.ok and a.request.member_id == member and a.ended < moment
            for a in self.writes.attempts
        )

    def _wrong_read(self, read: Attempt) -> str:
        if read.kind == "GetLeaderboard":
            if not read.ok:
                return ""
            got = [(e.member_id, e.score, e.rank) for e in read.response.entries]
            want = game.ranked(top_members())
            return "" if got == want else f"top page {got[:3]}... instead of {want[:3]}..."
        member = read.key
        if read.code is NOT_FOUND and self._acknowledged_before(member, read.started):
            return f"GetRank({member}) NOT_FOUND after a score of it was acknowledged"
        if not read.ok:
            return ""
        entry = read.response.entry
        if entry.rank <= TOP or entry.score > self._sent(member, read.ended):
            return f"GetRank({member}) = rank {entry.rank}, score {entry.score}"
        return ""

    def _wrong_write(self, write: Attempt) -> str:
        if not write.ok:
            return ""
        member = write.request.member_id
        answer = write.response
        if answer.score > self._sent(member, write.started) or answer.score < write.request.value:
            return f"SubmitScore({member}) answered score {answer.score}"
        if 0 < answer.rank <= TOP:
            return f"SubmitScore({member}) answered rank {answer.rank}"
        return ""
