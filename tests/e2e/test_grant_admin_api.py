"""GrantAdminService through the generated stubs: list, inspect, retry, reconcile, count."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.queue import PostgresOutboxQueue
from service.bootstrap import build_app
from service.domain.grant_delivery import Settlement
from service.entrypoints.grpc_api.server import start_server
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import grants_pb2_grpc as grants_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.loyalty.v1 import loyalty_pb2
from service.loyalty_stub.server import RunningStub, start_stub
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.grants import grpc_relay, make_grant, queue_grants

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
CHEST = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_ITEM, amount=1, item_code="chest")


def _stamp(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _check_in_grants(channel: grpc.aio.Channel, *users: str) -> list[str]:
    """Configure a program with a reward every day and check `users` in; return grant ids."""
    program = admin_pb.CheckInProgram(
        cycle=[admin_pb.CycleDay(rewards=[POINTS, CHEST])], max_freezes=1
    )
    await admin_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        admin_pb.UpdateCheckInProgramRequest(program=program)
    )
    keys: list[str] = []
    for user in users:
        response = await pb_grpc.CheckInServiceStub(channel).CheckIn(
            pb.CheckInRequest(user_id=user, timezone="Europe/Berlin")
        )
        keys.extend(g.idempotency_key for g in response.grants)
    return keys


async def test_reflection_and_health_know_the_grant_admin_service(
    channel: grpc.aio.Channel,
) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = [r async for r in stub.ServerReflectionInfo(iter([request]))]

    names = {s.name for s in responses[0].list_services_response.service}
    assert "engagement.v1.GrantAdminService" in names


async def test_list_filters_and_pages_newest_first(channel: grpc.aio.Channel) -> None:
    keys = await _check_in_grants(channel, "ann", "bob", "cid")
    admin = grants_grpc.GrantAdminServiceStub(channel)

    everything = await admin.ListGrants(grants_pb.ListGrantsRequest())
    bobs = await admin.ListGrants(grants_pb.ListGrantsRequest(user_id="bob"))
    pending = await admin.ListGrants(
        grants_pb.ListGrantsRequest(status=grants_pb.GRANT_STATUS_PENDING)
    )
    later = await admin.ListGrants(
        grants_pb.ListGrantsRequest(created_after=_stamp(_now() + dt.timedelta(hours=1)))
    )

    assert [g.grant.idempotency_key for g in everything.grants] == keys[::-1]
    assert {g.grant.user_id for g in bobs.grants} == {"bob"}
    assert len(bobs.grants) == 2
    assert len(pending.grants) == 6
    assert later.grants == []
    first = everything.grants[0]
    assert first.status == grants_pb.GRANT_STATUS_PENDING
    assert (first.cause_kind, first.definition_version, first.attempts) == ("check_in", 1, 0)
    assert first.HasField("next_attempt_at")
    assert not first.HasField("delivered_at")

    walked: list[str] = []
    request = grants_pb.ListGrantsRequest(page_size=4)
    while True:
        page = await admin.ListGrants(request)
        walked.extend(g.grant.idempotency_key for g in page.grants)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert walked == keys[::-1]


async def test_list_filters_by_cause(channel: grpc.aio.Channel) -> None:
    await _check_in_grants(channel, "ann", "bob")
    admin = grants_grpc.GrantAdminServiceStub(channel)
    ann = await admin.ListGrants(grants_pb.ListGrantsRequest(user_id="ann"))

    by_cause = await admin.ListGrants(
        grants_pb.ListGrantsRequest(cause_ref=ann.grants[0].grant.cause_ref)
    )

    assert {g.grant.user_id for g in by_cause.grants} == {"ann"}
    assert len(by_cause.grants) == 2


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (grants_pb.ListGrantsRequest(page_size=5000), "page_size"),
        (grants_pb.ListGrantsRequest(page_token="nonsense"), "page_token"),
        (grants_pb.ListGrantsRequest(status=99), "status"),  # type: ignore[arg-type]
    ],
)
async def test_bad_list_requests_are_invalid_and_name_the_field(
    channel: grpc.aio.Channel, request_: grants_pb.ListGrantsRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grants_grpc.GrantAdminServiceStub(channel).ListGrants(request_)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(field)


async def test_a_page_token_only_serves_the_filters_it_was_made_for(
    channel: grpc.aio.Channel,
) -> None:
    await _check_in_grants(channel, "ann", "bob")
    admin = grants_grpc.GrantAdminServiceStub(channel)
    page = await admin.ListGrants(grants_pb.ListGrantsRequest(page_size=1))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.ListGrants(
            grants_pb.ListGrantsRequest(page_size=1, user_id="bob", page_token=page.next_page_token)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_get_grant_shows_the_check_in_and_program_behind_it(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    keys = await _check_in_grants(channel, "ann")
    admin = grants_grpc.GrantAdminServiceStub(channel)

    response = await admin.GetGrant(grants_pb.GetGrantRequest(grant_id=keys[0]))

    assert response.grant.grant.idempotency_key == keys[0]
    assert response.grant.grant.reward.amount == 10
    cause = response.cause
    assert (cause.kind, cause.definition_version) == ("check_in", 1)
    berlin_day = clock.now().astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date()
    assert cause.ref == f"check_in:ann:{berlin_day}"
    assert (cause.check_in.user_id, cause.check_in.streak, cause.check_in.cycle_day) == (
        "ann",
        1,
        1,
    )
    assert cause.check_in.timezone == "Europe/Berlin"
    assert cause.check_in_program.version == 1
    assert len(cause.check_in_program.cycle) == 1


async def test_get_grant_of_an_unknown_id_is_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grants_grpc.GrantAdminServiceStub(channel).GetGrant(
            grants_pb.GetGrantRequest(grant_id="check_in:nobody:2026-01-01:cycle:0")
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "check_in:nobody" in str(raised.value.details())


async def test_dead_grants_are_retried_and_counted(
    channel: grpc.aio.Channel, engine: AsyncEngine
) -> None:
    await queue_grants(engine, [make_grant("ann", n) for n in range(3)])
    queue = PostgresOutboxQueue(engine)
    batch = await queue.claim("relay-1", limit=3, lease_seconds=30)
    await queue.settle(
        "relay-1",
        Settlement(delivered=(batch[0].id,), dead=((batch[1].id, "rejected: no such user"),)),
    )
    admin = grants_grpc.GrantAdminServiceStub(channel)

    stats = await admin.GetGrantStats(grants_pb.GetGrantStatsRequest())
    dead = await admin.ListGrants(grants_pb.ListGrantsRequest(status=grants_pb.GRANT_STATUS_DEAD))
    retried = await admin.RetryDeadGrants(
        grants_pb.RetryDeadGrantsRequest(grant_ids=["test:ann:000001", "test:ann:000002"])
    )
    after = await admin.GetGrantStats(grants_pb.GetGrantStatsRequest())

    assert (stats.pending, stats.in_flight, stats.delivered, stats.dead) == (1, 1, 1, 1)
    assert stats.oldest_pending_age_seconds >= 0
    assert [g.last_error for g in dead.grants] == ["rejected: no such user"]
    assert retried.retried == 1
    assert (after.pending, after.dead) == (2, 0)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.RetryDeadGrants(grants_pb.RetryDeadGrantsRequest())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_reconcile_without_a_loyalty_system_is_a_failed_precondition(
    channel: grpc.aio.Channel,
) -> None:
    request = grants_pb.ReconcileGrantsRequest(
        created_after=_stamp(_now() - dt.timedelta(hours=1)), created_before=_stamp(_now())
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grants_grpc.GrantAdminServiceStub(channel).ReconcileGrants(request)

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ENGAGEMENT_LOYALTY_SINK" in str(raised.value.details())


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub()
    yield running
    await running.stop(0)


@pytest.fixture
async def loyal_channel(
    settings: Settings, engine: AsyncEngine, clock: MovableClock, stub: RunningStub
) -> AsyncIterator[grpc.aio.Channel]:
    """A server whose app knows the loyalty stub, as `engagement serve` with a sink has."""
    loyal = settings.model_copy(update={"loyalty_sink": "grpc", "loyalty_address": stub.address})
    app = build_app(loyal, clock=clock)
    running = await start_server(app, "127.0.0.1:0")
    async with auth.channel(running.port) as channel:
        yield channel
    await running.stop(0)
    await app.close()


async def test_reconcile_reports_grants_missing_on_either_side(
    loyal_channel: grpc.aio.Channel, engine: AsyncEngine, stub: RunningStub
) -> None:
    keys = await _check_in_grants(loyal_channel, "ann", "bob", "cid")
    relay = grpc_relay(engine, stub.address)
    while await relay.run_once():
        pass
    await relay.sink.close()
    lost = stub.ledger.grants.pop(keys[0])  # the loyalty system lost one
    stray = loyalty_pb2.Grant(
        grant_id="check_in:eve:x", user_id="eve", kind=loyalty_pb2.GRANT_KIND_XP, amount=1,
        occurred_at=lost.grant.occurred_at,
    )  # fmt: skip
    stub.ledger.record(stray, _now())
    request = grants_pb.ReconcileGrantsRequest(
        created_after=_stamp(_now() - dt.timedelta(hours=1)),
        created_before=_stamp(_now() + dt.timedelta(minutes=1)),
    )

    report = await grants_grpc.GrantAdminServiceStub(loyal_channel).ReconcileGrants(request)

    assert (report.delivered, report.received, report.matched) == (6, 6, 5)
    assert list(report.missing_at_sink) == [keys[0]]
    assert report.missing_at_sink_count == 1
    assert list(report.unconfirmed) == ["check_in:eve:x"]
    assert report.unconfirmed_count == 1


async def test_reconcile_rejects_ranges_over_a_week(loyal_channel: grpc.aio.Channel) -> None:
    request = grants_pb.ReconcileGrantsRequest(
        created_after=_stamp(_now() - dt.timedelta(days=8)), created_before=_stamp(_now())
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grants_grpc.GrantAdminServiceStub(loyal_channel).ReconcileGrants(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith("created_before")


async def test_reconcile_with_the_loyalty_system_down_is_unavailable(
    loyal_channel: grpc.aio.Channel, stub: RunningStub
) -> None:
    await stub.stop(0)
    request = grants_pb.ReconcileGrantsRequest(
        created_after=_stamp(_now() - dt.timedelta(hours=1)), created_before=_stamp(_now())
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await grants_grpc.GrantAdminServiceStub(loyal_channel).ReconcileGrants(request)

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
