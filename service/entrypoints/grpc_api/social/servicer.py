"""DuelService, DuelAdminService and AssistService: protos in, handlers called, protos out."""

from __future__ import annotations

from service.app.social import assists, duels
from service.bootstrap import App
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.social import convert
from service.gen.engagement.v1 import social_pb2 as pb
from service.gen.engagement.v1 import social_pb2_grpc as pb_grpc


class DuelServicer(pb_grpc.DuelServiceServicer):
    """Duels as players make and see them."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def CreateDuel(
        self, request: pb.CreateDuelRequest, context: Context
    ) -> pb.CreateDuelResponse:
        cmd = duels.CreateDuel(
            request.challenger_id, request.opponent_id, request.type_id, request.idempotency_key
        )
        created = await duels.create_duel(
            cmd, uow=self._app.uow(), clock=self._app.clock, feed=self._app.boards.feed
        )
        return pb.CreateDuelResponse(
            duel=convert.duel_to_pb(created.duel), duplicate=created.duplicate
        )

    async def RespondToDuel(
        self, request: pb.RespondToDuelRequest, context: Context
    ) -> pb.RespondToDuelResponse:
        duel = await duels.respond_to_duel(
            request.duel_id, request.user_id, request.accept, uow=self._app.uow(),
            clock=self._app.clock, feed=self._app.boards.feed,
        )  # fmt: skip
        return pb.RespondToDuelResponse(duel=convert.duel_to_pb(duel))

    async def GetDuel(self, request: pb.GetDuelRequest, context: Context) -> pb.GetDuelResponse:
        duel = await duels.get_duel(request.duel_id, request.user_id, uow=self._app.reader())
        return pb.GetDuelResponse(duel=convert.duel_to_pb(duel))

    async def ListMyDuels(
        self, request: pb.ListMyDuelsRequest, context: Context
    ) -> pb.ListMyDuelsResponse:
        page = await duels.list_my_duels(
            request.user_id, convert.states_from_pb(request.states), request.page_size,
            request.page_token, uow=self._app.reader(), tokens=self._app.page_tokens,
        )  # fmt: skip
        return pb.ListMyDuelsResponse(
            duels=[convert.duel_to_pb(d) for d in page.duels],
            next_page_token=page.next_page_token,
        )


class DuelAdminServicer(pb_grpc.DuelAdminServiceServicer):
    """Duel types, for game ops."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def UpsertDuelType(
        self, request: pb.UpsertDuelTypeRequest, context: Context
    ) -> pb.UpsertDuelTypeResponse:
        stored = await duels.upsert_duel_type(
            convert.duel_type_from_pb(request.duel_type), uow=self._app.uow(),
            clock=self._app.clock, actor=current_actor(),
        )  # fmt: skip
        return pb.UpsertDuelTypeResponse(duel_type=convert.duel_type_to_pb(stored))

    async def GetDuelType(
        self, request: pb.GetDuelTypeRequest, context: Context
    ) -> pb.GetDuelTypeResponse:
        found = await duels.get_duel_type(request.type_id, uow=self._app.reader())
        return pb.GetDuelTypeResponse(duel_type=convert.duel_type_to_pb(found))

    async def ListDuelTypes(
        self, request: pb.ListDuelTypesRequest, context: Context
    ) -> pb.ListDuelTypesResponse:
        found = await duels.list_duel_types(uow=self._app.reader())
        return pb.ListDuelTypesResponse(duel_types=[convert.duel_type_to_pb(t) for t in found])


class AssistServicer(pb_grpc.AssistServiceServicer):
    """Friends' help with tasks."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def AssistTask(
        self, request: pb.AssistTaskRequest, context: Context
    ) -> pb.AssistTaskResponse:
        cmd = assists.AssistTask(
            request.helper_id, request.user_id, request.task_id, request.idempotency_key
        )
        done = await assists.assist_task(cmd, uow=self._app.uow(), rules=self._app.rules)
        return convert.assisted_to_pb(done)
