"""The loyalty sink over the loyalty.v1 gRPC contract: one RecordGrants call per batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from service.adapters.loyalty.codec import grant_to_pb, result_from_pb
from service.app.grants.ports import LoyaltyCannotList, LoyaltyUnavailable
from service.domain.grant_delivery import DeliveryResult, OutboxGrant
from service.gen.loyalty.v1 import loyalty_pb2 as pb
from service.gen.loyalty.v1 import loyalty_pb2_grpc as pb_grpc
from service.protobuf_time import timestamp

LIST_PAGE_SIZE = 1000
# The relay has its own backoff; the channel's default reconnect backoff (up to two minutes)
# would keep it failing long after the loyalty system is back.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)


def _unavailable(rpc: str, exc: grpc.aio.AioRpcError) -> LoyaltyUnavailable:
    return LoyaltyUnavailable(f"loyalty {rpc} failed: {exc.code().name}: {exc.details()}")


class GrpcLoyaltySink:
    """Implements the LoyaltySink port; the channel opens on first use."""

    def __init__(self, target: str, timeout_seconds: float) -> None:
        self._target = target
        self._timeout = timeout_seconds
        self._channel: grpc.aio.Channel | None = None
        self._client: pb_grpc.LoyaltyServiceAsyncStub | None = None

    def _stub(self) -> pb_grpc.LoyaltyServiceAsyncStub:
        if self._client is None:
            self._channel = grpc.aio.insecure_channel(self._target, options=_CHANNEL_OPTIONS)
            self._client = pb_grpc.LoyaltyServiceStub(self._channel)
        return self._client

    async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
        request = pb.RecordGrantsRequest(grants=[grant_to_pb(g) for g in grants])
        try:
            response = await self._stub().RecordGrants(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise _unavailable("RecordGrants", exc) from exc
        return [result for m in response.results if (result := result_from_pb(m)) is not None]

    async def received_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        request = pb.ListGrantsRequest(
            occurred_after=timestamp(start),
            occurred_before=timestamp(end),
            page_size=LIST_PAGE_SIZE,
        )
        ids: set[str] = set()
        while len(ids) <= limit:
            page = await self._list_page(request)
            ids.update(item.grant.grant_id for item in page.grants)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        return ids

    async def _list_page(self, request: pb.ListGrantsRequest) -> pb.ListGrantsResponse:
        try:
            return await self._stub().ListGrants(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise LoyaltyCannotList("the loyalty system does not list grants") from exc
            raise _unavailable("ListGrants", exc) from exc

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._client = None
