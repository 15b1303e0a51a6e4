"""GrantAdminService: operators list, inspect, retry and reconcile grants."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from service.app.grants import handlers as grants
from service.app.grants.ports import DeadSelection, GrantDetail, GrantFilter
from service.bootstrap import App
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.entrypoints.grpc_api import convert
from service.entrypoints.grpc_api.actor import current_actor
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.enums import EnumTable
from service.gen.engagement.v1 import grants_pb2 as pb
from service.gen.engagement.v1 import grants_pb2_grpc as pb_grpc
from service.protobuf_time import timestamp

REPORTED_IDS = 100

_STATUS = EnumTable(
    {
        GrantStatus.PENDING: pb.GRANT_STATUS_PENDING,
        GrantStatus.DELIVERED: pb.GRANT_STATUS_DELIVERED,
        GrantStatus.DEAD: pb.GRANT_STATUS_DEAD,
        GrantStatus.CANCELLED: pb.GRANT_STATUS_CANCELLED,
    }
)


def _time(message: Any, name: str) -> dt.datetime | None:
    return convert.instant_from_pb(message, name, name)


def _stamp(value: dt.datetime | None) -> Timestamp | None:
    return timestamp(value) if value else None


def record_to_pb(item: OutboxGrant) -> pb.GrantRecord:
    return pb.GrantRecord(
        grant=convert.grant_to_pb(item.grant),
        cause_kind=item.grant.cause_kind,
        definition_version=item.grant.definition_version,
        status=_STATUS.to_pb(item.status),
        in_flight=item.in_flight,
        attempts=item.attempts,
        last_error=item.last_error,
        created_at=timestamp(item.created_at),
        delivered_at=_stamp(item.delivered_at),
        next_attempt_at=_stamp(item.next_attempt_at),
    )


def _cause_to_pb(detail: GrantDetail) -> pb.GrantCause:
    grant = detail.grant.grant
    cause = pb.GrantCause(
        kind=grant.cause_kind, ref=grant.cause_ref, definition_version=grant.definition_version
    )
    if detail.check_in and detail.check_in.record:
        cause.check_in.CopyFrom(convert.day_record_to_pb(detail.check_in.record))
    if detail.check_in and detail.check_in.program:
        cause.check_in_program.CopyFrom(convert.program_to_pb(detail.check_in.program))
    return cause


def _filter(request: pb.ListGrantsRequest) -> GrantFilter:
    return GrantFilter(
        user_id=request.user_id,
        # Unspecified lists every status.
        status=_STATUS.from_pb(request.status, "status") if request.status else None,
        cause_ref=request.cause_ref,
        created_after=_time(request, "created_after"),
        created_before=_time(request, "created_before"),
    )


class GrantAdminServicer(pb_grpc.GrantAdminServiceServicer):
    """Operators' view of the grant outbox and its delivery."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def ListGrants(
        self, request: pb.ListGrantsRequest, context: Context
    ) -> pb.ListGrantsResponse:
        query = grants.ListGrants(_filter(request), request.page_size, request.page_token)
        page = await grants.list_grants(
            query, store=self._app.grant_store(), tokens=self._app.page_tokens
        )
        return pb.ListGrantsResponse(
            grants=[record_to_pb(g) for g in page.grants], next_page_token=page.next_page_token
        )

    async def GetGrant(self, request: pb.GetGrantRequest, context: Context) -> pb.GetGrantResponse:
        detail = await grants.get_grant(request.grant_id, store=self._app.grant_store())
        return pb.GetGrantResponse(grant=record_to_pb(detail.grant), cause=_cause_to_pb(detail))

    async def RetryDeadGrants(
        self, request: pb.RetryDeadGrantsRequest, context: Context
    ) -> pb.RetryDeadGrantsResponse:
        selection = DeadSelection(tuple(request.grant_ids), request.user_id, request.all)
        retried = await grants.retry_dead_grants(
            selection, store=self._app.grant_store(), clock=self._app.clock, actor=current_actor()
        )
        return pb.RetryDeadGrantsResponse(retried=retried)

    async def ReconcileGrants(
        self, request: pb.ReconcileGrantsRequest, context: Context
    ) -> pb.ReconcileGrantsResponse:
        cmd = grants.ReconcileGrants(
            _time(request, "created_after"), _time(request, "created_before")
        )
        result = await grants.reconcile_grants(
            cmd, store=self._app.grant_store(), sink=self._app.loyalty, clock=self._app.clock,
            actor=current_actor(),
        )  # fmt: skip
        return pb.ReconcileGrantsResponse(
            delivered=result.delivered,
            received=result.received,
            matched=result.matched,
            missing_at_sink=result.missing_at_sink[:REPORTED_IDS],
            missing_at_sink_count=len(result.missing_at_sink),
            unconfirmed=result.unconfirmed[:REPORTED_IDS],
            unconfirmed_count=len(result.unconfirmed),
        )

    async def GetGrantStats(
        self, request: pb.GetGrantStatsRequest, context: Context
    ) -> pb.GetGrantStatsResponse:
        stats = await grants.grant_stats(store=self._app.grant_store())
        return pb.GetGrantStatsResponse(
            pending=stats.pending,
            in_flight=stats.in_flight,
            delivered=stats.delivered,
            dead=stats.dead,
            oldest_pending_age_seconds=stats.oldest_pending_age_seconds,
        )
