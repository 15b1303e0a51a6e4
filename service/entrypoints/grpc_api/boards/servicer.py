"""LeaderboardService and LeaderboardAdminService: protos in, handlers called, protos out."""

from __future__ import annotations

import leaderboard as lb
from service.app.boards import definitions as boards
from service.app.boards import exclusions as board_exclusions
from service.app.boards import heal as board_heal
from service.app.boards import period_list, scores
from service.app.boards import periods as board_periods
from service.app.boards import reads as board_reads
from service.bootstrap import App
from service.domain.validation import check_http_url
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.boards import convert
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.convert import instant_from_pb
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc


class LeaderboardServicer(pb_grpc.LeaderboardServiceServicer):
    """Scores from internal services; reads for mobile app backends."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def SubmitScore(
        self, request: pb.SubmitScoreRequest, context: Context
    ) -> pb.SubmitScoreResponse:
        occurred = instant_from_pb(request, "occurred_at", "occurred_at")
        cmd = scores.SubmitScore(
            request.board_id, request.member_id, request.value, request.idempotency_key,
            request.partition, occurred,
        )  # fmt: skip
        done = await self._app.scores.submit(cmd)
        return pb.SubmitScoreResponse(
            period_id=done.period_id, score=done.score, rank=done.rank, duplicate=done.duplicate
        )

    async def GetLeaderboard(
        self, request: pb.GetLeaderboardRequest, context: Context
    ) -> pb.GetLeaderboardResponse:
        ref = convert.ref_from_pb(request.board)
        period_id, page = await board_reads.get_page(
            ref, request.page, request.page_size, boards=self._app.boards
        )
        return pb.GetLeaderboardResponse(
            period_id=period_id,
            entries=convert.entries_to_pb(page.entries),
            total_members=page.member_count,
        )

    async def GetAroundMe(
        self, request: pb.GetAroundMeRequest, context: Context
    ) -> pb.GetAroundMeResponse:
        ref = convert.ref_from_pb(request.board)
        period_id, entries = await board_reads.get_around(
            ref, request.member_id, request.size, boards=self._app.boards
        )
        return pb.GetAroundMeResponse(period_id=period_id, entries=convert.entries_to_pb(entries))

    async def GetRank(self, request: pb.GetRankRequest, context: Context) -> pb.GetRankResponse:
        ref = convert.ref_from_pb(request.board)
        period_id, found = await board_reads.get_rank(
            ref, request.member_id, boards=self._app.boards
        )
        entry = convert.entry_to_pb(
            lb.Entry(found.member_id, found.score, found.rank, found.metadata)
        )
        return pb.GetRankResponse(
            period_id=period_id,
            entry=entry,
            percentile=found.percentile,
            total_members=found.member_count,
        )

    async def GetFriendsLeaderboard(
        self, request: pb.GetFriendsLeaderboardRequest, context: Context
    ) -> pb.GetFriendsLeaderboardResponse:
        ref = convert.ref_from_pb(request.board)
        period_id, entries = await board_reads.get_friends(
            ref, list(request.member_ids), boards=self._app.boards
        )
        return pb.GetFriendsLeaderboardResponse(
            period_id=period_id, entries=convert.entries_to_pb(entries)
        )

    async def GetStandings(
        self, request: pb.GetStandingsRequest, context: Context
    ) -> pb.GetStandingsResponse:
        ref = convert.ref_from_pb(request.board)
        found = await board_reads.get_standings(
            ref, request.page, request.page_size, uow=self._app.uow(), boards=self._app.boards
        )
        return pb.GetStandingsResponse(
            period_id=found.period_id,
            entries=convert.entries_to_pb(found.entries),
            final=found.final,
        )

    async def SetMemberMetadata(
        self, request: pb.SetMemberMetadataRequest, context: Context
    ) -> pb.SetMemberMetadataResponse:
        avatar_url = check_http_url("avatar_url", request.avatar_url)
        await scores.set_metadata(
            request.board_id, request.member_id, request.display_name, avatar_url,
            uow=self._app.uow(), boards=self._app.boards,
        )  # fmt: skip
        return pb.SetMemberMetadataResponse()

    async def ListPeriods(
        self, request: pb.ListPeriodsRequest, context: Context
    ) -> pb.ListPeriodsResponse:
        page = await period_list.list_periods(
            request.board_id, request.partition, request.page_size, request.page_token,
            uow=self._app.reader(), boards=self._app.boards, tokens=self._app.page_tokens,
        )  # fmt: skip
        return pb.ListPeriodsResponse(
            periods=[convert.period_to_pb(p.period, p.final, p.current) for p in page.periods],
            next_page_token=page.next_page_token,
        )


class LeaderboardAdminServicer(pb_grpc.LeaderboardAdminServiceServicer):
    """Board definitions and period operations for game ops."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def UpsertBoard(
        self, request: pb.UpsertBoardRequest, context: Context
    ) -> pb.UpsertBoardResponse:
        board = convert.board_from_pb(request.board)
        stored = await boards.upsert_board(
            board, uow=self._app.uow(), catalog=self._app.boards.catalog,
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return pb.UpsertBoardResponse(board=convert.board_to_pb(stored))

    async def GetBoard(self, request: pb.GetBoardRequest, context: Context) -> pb.GetBoardResponse:
        board = await boards.get_board(request.board_id, uow=self._app.uow())
        return pb.GetBoardResponse(board=convert.board_to_pb(board))

    async def ListBoards(
        self, request: pb.ListBoardsRequest, context: Context
    ) -> pb.ListBoardsResponse:
        found = await boards.list_boards(uow=self._app.uow())
        return pb.ListBoardsResponse(boards=[convert.board_to_pb(b) for b in found])

    async def FinalizePeriod(
        self, request: pb.FinalizePeriodRequest, context: Context
    ) -> pb.FinalizePeriodResponse:
        ref = convert.ref_from_pb(request.board)
        done = await board_periods.finalize_period(
            ref, uow=self._app.uow(), boards=self._app.boards, rules=self._app.rules,
            actor=current_actor(),
        )  # fmt: skip
        return pb.FinalizePeriodResponse(
            period_id=done.period_id,
            members=done.members,
            grants=done.grants,
            already_final=done.already_final,
        )

    async def RebuildBoard(
        self, request: pb.RebuildBoardRequest, context: Context
    ) -> pb.RebuildBoardResponse:
        ref = convert.ref_from_pb(request.board)
        period_id, members = await board_periods.rebuild_board(
            ref, uow=self._app.uow(), boards=self._app.boards, actor=current_actor()
        )
        return pb.RebuildBoardResponse(period_id=period_id, members=members)

    async def RebuildBoards(
        self, request: pb.RebuildBoardsRequest, context: Context
    ) -> pb.RebuildBoardsResponse:
        rebuilt = await board_heal.rebuild_all(
            uow=self._app.uow, boards=self._app.boards, actor=current_actor()
        )
        return pb.RebuildBoardsResponse(board_periods=rebuilt)

    async def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: Context
    ) -> pb.RemoveMemberResponse:
        ref = convert.ref_from_pb(request.board)
        removed = await board_periods.remove_member(
            ref, request.member_id, uow=self._app.uow(), boards=self._app.boards,
            actor=current_actor(),
        )  # fmt: skip
        return pb.RemoveMemberResponse(removed=removed)

    async def ExcludeMember(
        self, request: pb.ExcludeMemberRequest, context: Context
    ) -> pb.ExcludeMemberResponse:
        done = await board_exclusions.exclude_member(
            request.member_id, request.reason, uow=self._app.uow(), boards=self._app.boards,
            actor=current_actor(),
        )  # fmt: skip
        return pb.ExcludeMemberResponse(excluded=done.excluded, periods=len(done.removed_from))

    async def ReinstateMember(
        self, request: pb.ReinstateMemberRequest, context: Context
    ) -> pb.ReinstateMemberResponse:
        reinstated = await board_exclusions.reinstate_member(
            request.member_id, uow=self._app.uow(), boards=self._app.boards,
            actor=current_actor(),
        )  # fmt: skip
        return pb.ReinstateMemberResponse(reinstated=reinstated)
