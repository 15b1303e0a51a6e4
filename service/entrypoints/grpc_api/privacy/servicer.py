"""PrivacyAdminService: operators export or erase everything stored about a user."""

from __future__ import annotations

from service.app.privacy import handlers as privacy
from service.bootstrap import App
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.privacy.convert import erasure_to_pb, user_data_to_pb
from service.gen.engagement.v1 import privacy_pb2 as pb
from service.gen.engagement.v1 import privacy_pb2_grpc as pb_grpc


class PrivacyAdminServicer(pb_grpc.PrivacyAdminServiceServicer):
    """Privacy requests: a user's data export, and its erasure."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def ExportUserData(
        self, request: pb.ExportUserDataRequest, context: Context
    ) -> pb.ExportUserDataResponse:
        data = await privacy.export_user_data(request.user_id, uow=self._app.reader())
        return pb.ExportUserDataResponse(data=user_data_to_pb(data))

    async def DeleteUserData(
        self, request: pb.DeleteUserDataRequest, context: Context
    ) -> pb.DeleteUserDataResponse:
        cmd = privacy.DeleteUserData(request.user_id, request.reason)
        erasure = await privacy.delete_user_data(
            cmd, uow=self._app.uow(), boards=self._app.boards, actor=current_actor()
        )
        return erasure_to_pb(erasure)
