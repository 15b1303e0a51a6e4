"""AuditAdminService: operators page through the audit log of admin changes."""

from __future__ import annotations

from google.protobuf.struct_pb2 import Struct

from service.app import audit
from service.app.audit import AuditEntry, AuditFilter
from service.bootstrap import App
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.convert import instant_from_pb
from service.gen.engagement.v1 import audit_pb2 as pb
from service.gen.engagement.v1 import audit_pb2_grpc as pb_grpc
from service.protobuf_time import timestamp


def filter_from_pb(request: pb.ListAuditEntriesRequest) -> AuditFilter:
    return AuditFilter(
        after=instant_from_pb(request, "after", "after"),
        before=instant_from_pb(request, "before", "before"),
        actor=request.actor,
        target_kind=request.target_kind,
        target_id=request.target_id,
    )


def entry_to_pb(entry: AuditEntry) -> pb.AuditEntry:
    change = entry.change
    details = Struct()
    details.update(dict(change.details))  # type: ignore[arg-type]
    message = pb.AuditEntry(
        id=entry.id,
        at=timestamp(entry.at),
        actor=entry.actor,
        rpc=change.rpc,
        target_kind=change.target_kind,
        target_id=change.target_id,
        request_id=entry.request_id,
        details=details,
    )
    if change.version_before is not None:
        message.version_before = change.version_before
    if change.version_after is not None:
        message.version_after = change.version_after
    return message


class AuditAdminServicer(pb_grpc.AuditAdminServiceServicer):
    """The audit log, newest first."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def ListAuditEntries(
        self, request: pb.ListAuditEntriesRequest, context: Context
    ) -> pb.ListAuditEntriesResponse:
        query = audit.ListAudit(filter_from_pb(request), request.page_size, request.page_token)
        page = await audit.list_entries(query, uow=self._app.reader(), tokens=self._app.page_tokens)
        return pb.ListAuditEntriesResponse(
            entries=[entry_to_pb(e) for e in page.entries], next_page_token=page.next_page_token
        )
