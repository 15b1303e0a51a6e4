"""LeagueService and LeagueAdminService: protos in, handlers called, protos out."""

from __future__ import annotations

from service.app.leagues import definitions as leagues
from service.app.leagues import reads as league_reads
from service.app.leagues import seasons as league_seasons
from service.bootstrap import App
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.leagues import convert
from service.gen.engagement.v1 import leagues_pb2 as pb
from service.gen.engagement.v1 import leagues_pb2_grpc as pb_grpc


class LeagueServicer(pb_grpc.LeagueServiceServicer):
    """A member's league, for mobile app backends."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def GetLeague(
        self, request: pb.GetLeagueRequest, context: Context
    ) -> pb.GetLeagueResponse:
        view = await league_reads.get_league(
            request.league_id, request.user_id, uow=self._app.reader(), leagues=self._app.leagues
        )
        return convert.view_to_pb(view)

    async def ListLeagueHistory(
        self, request: pb.ListLeagueHistoryRequest, context: Context
    ) -> pb.ListLeagueHistoryResponse:
        page = await league_reads.list_history(
            request.league_id, request.user_id, request.page_size, request.page_token,
            uow=self._app.reader(), leagues=self._app.leagues, tokens=self._app.page_tokens,
        )  # fmt: skip
        return pb.ListLeagueHistoryResponse(
            seasons=[convert.season_to_pb(s) for s in page.seasons],
            next_page_token=page.next_page_token,
        )


class LeagueAdminServicer(pb_grpc.LeagueAdminServiceServicer):
    """League definitions and season ends, for game ops."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def UpsertLeague(
        self, request: pb.UpsertLeagueRequest, context: Context
    ) -> pb.UpsertLeagueResponse:
        stored = await leagues.upsert_league(
            convert.league_from_pb(request.league), uow=self._app.uow(),
            leagues=self._app.leagues, actor=current_actor(),
        )  # fmt: skip
        return pb.UpsertLeagueResponse(league=convert.league_to_pb(stored))

    async def GetLeagueDefinition(
        self, request: pb.GetLeagueDefinitionRequest, context: Context
    ) -> pb.GetLeagueDefinitionResponse:
        found = await leagues.get_league_definition(request.league_id, uow=self._app.reader())
        return pb.GetLeagueDefinitionResponse(league=convert.league_to_pb(found))

    async def ListLeagues(
        self, request: pb.ListLeaguesRequest, context: Context
    ) -> pb.ListLeaguesResponse:
        found = await leagues.list_leagues(uow=self._app.reader())
        return pb.ListLeaguesResponse(leagues=[convert.league_to_pb(x) for x in found])

    async def EndLeagueSeason(
        self, request: pb.EndLeagueSeasonRequest, context: Context
    ) -> pb.EndLeagueSeasonResponse:
        done = await league_seasons.end_season(
            request.league_id, request.period_id, uow=self._app.uow(),
            leagues=self._app.leagues, rules=self._app.rules, actor=current_actor(),
        )  # fmt: skip
        return pb.EndLeagueSeasonResponse(
            period_id=done.period_id, members=done.members, promoted=done.promoted,
            demoted=done.demoted, grants=done.grants, already_ended=done.already_ended,
        )  # fmt: skip
