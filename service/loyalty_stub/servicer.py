"""The stub's gRPC services: loyalty.v1.LoyaltyService and its own StubControlService."""
# Servicer methods carry the RPC names from the protos.
# ruff: noqa: N802

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import grpc

from service.entrypoints.grpc_api.context import Context
from service.gen.loyalty.stub.v1 import control_pb2 as control_pb
from service.gen.loyalty.stub.v1 import control_pb2_grpc as control_grpc
from service.gen.loyalty.v1 import loyalty_pb2 as pb
from service.gen.loyalty.v1 import loyalty_pb2_grpc as pb_grpc
from service.loyalty_stub.faults import FaultInjector, Faults
from service.loyalty_stub.ledger import GrantLedger, Received
from service.protobuf_time import instant, timestamp

MAX_BATCH = 1000
MAX_PAGE = 1000


def _page_token(item: Received) -> str:
    nanos, grant_id = item.sort_key()
    return f"{nanos}:{grant_id}"


def _after(items: list[Received], token: str) -> list[Received]:
    nanos, _, grant_id = token.partition(":")
    key = (int(nanos), grant_id)
    return [item for item in items if item.sort_key() > key]


class LoyaltyStubServicer(pb_grpc.LoyaltyServiceServicer):
    """Stores grants in memory, deduplicated by grant id; faults come from the injector."""

    def __init__(self, ledger: GrantLedger, injector: FaultInjector) -> None:
        self._ledger = ledger
        self._injector = injector

    async def RecordGrant(
        self, request: pb.RecordGrantRequest, context: Context
    ) -> pb.RecordGrantResponse:
        results = await self._record([request.grant], context)
        return pb.RecordGrantResponse(result=results[0])

    async def RecordGrants(
        self, request: pb.RecordGrantsRequest, context: Context
    ) -> pb.RecordGrantsResponse:
        if not 0 < len(request.grants) <= MAX_BATCH:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "grants: 1 to 1000 per call")
        return pb.RecordGrantsResponse(results=await self._record(request.grants, context))

    async def _record(self, grants: Any, context: Context) -> list[pb.GrantResult]:
        stats = self._ledger.stats
        stats.calls += 1
        stats.calls_in_progress += 1
        try:
            faults = self._injector.faults
            fail = self._injector.should_fail()
            if fail and not faults.fail_after_apply:
                stats.failed_calls += 1
                await context.abort(grpc.StatusCode.UNAVAILABLE, "injected failure")
            now = dt.datetime.now(dt.UTC)
            results = [self._ledger.record(grant, now) for grant in grants]
            if faults.delay_seconds:
                await asyncio.sleep(faults.delay_seconds)  # the injected slowness itself
            if fail:
                stats.failed_calls += 1
                await context.abort(grpc.StatusCode.UNAVAILABLE, "injected failure after applying")
            return results
        finally:
            stats.calls_in_progress -= 1

    async def ListGrants(
        self, request: pb.ListGrantsRequest, context: Context
    ) -> pb.ListGrantsResponse:
        size = min(request.page_size or MAX_PAGE, MAX_PAGE)
        try:
            span = instant(request, "occurred_after"), instant(request, "occurred_before")
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        items = self._ledger.between(*span)
        if request.page_token:
            try:
                items = _after(items, request.page_token)
            except ValueError:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "page_token: malformed")
        page = items[:size]
        return pb.ListGrantsResponse(
            grants=[
                pb.ReceivedGrant(grant=r.grant, received_at=timestamp(r.received_at)) for r in page
            ],
            next_page_token=_page_token(page[-1]) if len(items) > size else "",
        )


def faults_to_pb(faults: Faults) -> control_pb.Faults:
    mode = (
        control_pb.FAILURE_MODE_AFTER_APPLY
        if faults.fail_after_apply
        else (control_pb.FAILURE_MODE_BEFORE_APPLY)
    )
    return control_pb.Faults(
        failure_rate=faults.failure_rate, failure_mode=mode, delay_seconds=faults.delay_seconds
    )


class StubControlServicer(control_grpc.StubControlServiceServicer):
    """Lets tests, benchmarks and developers steer the stub from outside its process."""

    def __init__(self, ledger: GrantLedger, injector: FaultInjector) -> None:
        self._ledger = ledger
        self._injector = injector

    async def SetFaults(
        self, request: control_pb.SetFaultsRequest, context: Context
    ) -> control_pb.SetFaultsResponse:
        wanted = request.faults
        try:
            faults = Faults(
                failure_rate=wanted.failure_rate,
                fail_after_apply=wanted.failure_mode == control_pb.FAILURE_MODE_AFTER_APPLY,
                delay_seconds=wanted.delay_seconds,
            )
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"faults.{exc}")
        self._injector.faults = faults
        return control_pb.SetFaultsResponse(faults=faults_to_pb(faults))

    async def GetStats(
        self, request: control_pb.GetStatsRequest, context: Context
    ) -> control_pb.GetStatsResponse:
        stats = self._ledger.stats
        return control_pb.GetStatsResponse(
            calls=stats.calls,
            failed_calls=stats.failed_calls,
            accepted=stats.accepted,
            duplicates=stats.duplicates,
            rejected=stats.rejected,
            calls_in_progress=stats.calls_in_progress,
        )

    async def Reset(
        self, request: control_pb.ResetRequest, context: Context
    ) -> control_pb.ResetResponse:
        self._ledger.reset()
        return control_pb.ResetResponse()
