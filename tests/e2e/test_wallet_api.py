"""WalletService through the generated stubs: balances, history and inventory agree with the
grant outbox and with what the loyalty system received."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.outbox.queue import PostgresOutboxQueue
from service.adapters.outbox.store import PostgresGrantStore
from service.app.grants.ports import GrantFilter
from service.domain import wallet
from service.domain.grant_delivery import OutboxGrant, Settlement
from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as program_grpc
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import privacy_pb2 as privacy_pb
from service.gen.engagement.v1 import privacy_pb2_grpc as privacy_grpc
from service.gen.engagement.v1 import rewards_pb2 as rewards
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from service.gen.engagement.v1 import wallet_pb2 as pb
from service.gen.engagement.v1 import wallet_pb2_grpc as pb_grpc
from service.gen.loyalty.v1 import loyalty_pb2 as loyalty_pb
from service.loyalty_stub.server import RunningStub, start_stub
from service.protobuf_time import timestamp
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.grants import grpc_relay

pytestmark = pytest.mark.e2e

POINTS, XP = rewards.REWARD_KIND_POINTS, rewards.REWARD_KIND_XP
COUPON, ITEM = rewards.REWARD_KIND_COUPON, rewards.REWARD_KIND_ITEM
DAILY_POINTS = rewards.Reward(kind=POINTS, amount=10)
WELCOME = rewards.Reward(kind=COUPON, amount=1, item_code="welcome", valid_days=7)
CHEST = rewards.Reward(kind=ITEM, amount=2, item_code="chest")
GOLD = rewards.Reward(kind=COUPON, amount=1, item_code="gold", valid_days=30)


async def _game(channel: grpc.aio.Channel) -> None:
    """A check-in program, a task claimed by hand and a daily board with rank rewards."""
    program = program_pb.CheckInProgram(
        cycle=[program_pb.CycleDay(rewards=[DAILY_POINTS, WELCOME])], max_freezes=1
    )
    await program_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        program_pb.UpdateCheckInProgramRequest(program=program)
    )
    task = defs.TaskDefinition(
        task_id="first-order", title="First order", event_type="order.paid",
        measure=defs.MEASURE_COUNT, cadence=defs.CADENCE_ONCE, auto_claim=False,
        tiers=[defs.TaskTier(target=1, rewards=[
            rewards.Reward(kind=POINTS, amount=25), rewards.Reward(kind=XP, amount=5), CHEST,
        ])],
    )  # fmt: skip
    await rules_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        rules_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )
    board = board_pb.Board(
        board_id="daily", title="Daily", sort_order=board_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=board_pb.AGGREGATION_SUM, tie_policy=board_pb.TIE_POLICY_FIRST_TO_REACH,
        period=board_pb.Period(kind=board_pb.PERIOD_KIND_DAILY), timezone="UTC",
        rewards=[board_pb.RankReward(first_rank=1, last_rank=1, rewards=[
            rewards.Reward(kind=POINTS, amount=100), GOLD,
        ])],
    )  # fmt: skip
    await board_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        board_pb.UpsertBoardRequest(board=board)
    )


async def _play(channel: grpc.aio.Channel, clock: MovableClock) -> None:
    """Ann checks in on two days, claims the task and wins the first day's board."""
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    scores = board_grpc.LeaderboardServiceStub(channel)
    await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="ann", timezone="UTC"))
    await events_grpc.EventServiceStub(channel).TrackEvent(
        events_pb.TrackEventRequest(user_id="ann", type="order.paid", idempotency_key="o-1")
    )
    await player_grpc.PlayerServiceStub(channel).ClaimTaskReward(
        player_pb.ClaimTaskRewardRequest(user_id="ann", task_id="first-order")
    )
    for member, value in (("ann", 9), ("bob", 4)):
        await scores.SubmitScore(
            board_pb.SubmitScoreRequest(
                board_id="daily", member_id=member, value=value, idempotency_key=f"s-{member}"
            )
        )
    clock.advance(days=1)
    await board_grpc.LeaderboardAdminServiceStub(channel).FinalizePeriod(
        board_pb.FinalizePeriodRequest(
            board=board_pb.BoardRef(board_id="daily", period_id="d2026-03-10")
        )
    )
    await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="ann", timezone="UTC"))


async def _outbox(engine: AsyncEngine, user_id: str) -> list[OutboxGrant]:
    return await PostgresGrantStore(engine).list(GrantFilter(user_id=user_id), None, 10_000)


def _balances(response: pb.GetBalanceResponse) -> list[tuple[int, str, int, int, int, int, int]]:
    return [
        (b.kind, b.item_code, b.granted, b.delivered, b.pending, b.dead, b.grant_count)
        for b in response.balances
    ]


def _expected(grants: list[OutboxGrant]) -> list[tuple[int, str, int, int, int, int, int]]:
    kinds = {"points": POINTS, "xp": XP, "coupon": COUPON, "item": ITEM}
    return [
        (kinds[b.kind], b.item_code, b.granted, b.delivered, b.pending, b.dead, b.grant_count)
        for b in wallet.balances(grants)
    ]


async def _history(
    stub: pb_grpc.WalletServiceAsyncStub,
    kind: rewards.RewardKind.ValueType = rewards.REWARD_KIND_UNSPECIFIED,
) -> list[pb.RewardMovement]:
    request = pb.ListRewardHistoryRequest(user_id="ann", kind=kind, page_size=2)
    movements: list[pb.RewardMovement] = []
    while True:
        page = await stub.ListRewardHistory(request)
        movements.extend(page.movements)
        if not page.next_page_token:
            return movements
        request.page_token = page.next_page_token


def _inventory(response: pb.ListInventoryResponse) -> list[tuple[str, int, int, bool, bool]]:
    return [
        (e.item_code, e.quantity, e.pending, e.HasField("expires_at"), e.expired)
        for e in response.entries
    ]


@pytest.fixture
async def stub() -> AsyncIterator[RunningStub]:
    running = await start_stub()
    yield running
    await running.stop(0)


async def test_the_wallet_equals_the_outbox_and_what_the_loyalty_system_received(
    channel: grpc.aio.Channel, clock: MovableClock, engine: AsyncEngine, stub: RunningStub
) -> None:
    await _game(channel)
    await _play(channel, clock)
    wallets = pb_grpc.WalletServiceStub(channel)

    pending = await wallets.GetBalance(pb.GetBalanceRequest(user_id="ann"))
    rows = await _outbox(engine, "ann")

    assert pending.user_id == "ann"
    assert (
        _balances(pending)
        == _expected(rows)
        == [
            (POINTS, "", 145, 0, 145, 0, 4),
            (XP, "", 5, 0, 5, 0, 1),
            (COUPON, "gold", 1, 0, 1, 0, 1),
            (COUPON, "welcome", 2, 0, 2, 0, 2),
            (ITEM, "chest", 2, 0, 2, 0, 1),
        ]
    )
    history = await _history(wallets)
    assert [m.grant.idempotency_key for m in history] == [r.grant.idempotency_key for r in rows]
    assert [m.grant.reason for m in history] == [r.grant.reason for r in rows]
    assert {m.grant.cause_kind for m in history} == {"check_in", "task", "board_finalization"}
    gold = next(m for m in history if m.grant.reward.item_code == "gold")
    assert gold.grant.reward.valid_days == 30
    # Decided at the finalisation, a day after the period began.
    assert gold.grant.expires_at == timestamp(clock.now() + dt.timedelta(days=30))
    points = await _history(wallets, kind=POINTS)
    assert sum(m.grant.reward.amount for m in points) == 145

    # One grant dead-lettered, the rest relayed to the loyalty system.
    queue = PostgresOutboxQueue(engine)
    (oldest,) = await queue.claim("test", limit=1, lease_seconds=30)
    await queue.settle("test", Settlement(dead=((oldest.id, "rejected: test"),)))
    relay = grpc_relay(engine, stub.address)
    while await relay.run_once():
        pass
    await relay.sink.close()

    settled = await wallets.GetBalance(pb.GetBalanceRequest(user_id="ann"))
    rows = await _outbox(engine, "ann")
    assert _balances(settled) == _expected(rows)
    assert oldest.grant.reward.kind == "points"
    assert _balances(settled)[0] == (POINTS, "", 145, 135, 0, 10, 4)
    received: Counter[tuple[str, str]] = Counter()
    for item in stub.ledger.grants.values():
        if item.grant.user_id == "ann":
            kind = loyalty_pb.GrantKind.Name(item.grant.kind).removeprefix("GRANT_KIND_")
            received[kind, item.grant.item_code] += item.grant.amount
    assert dict(received) == {
        (rewards.RewardKind.Name(b.kind).removeprefix("REWARD_KIND_"), b.item_code): b.delivered
        for b in settled.balances
    }
    statuses = {m.grant.idempotency_key: m.status for m in await _history(wallets)}
    assert sorted(Counter(statuses.values()).values()) == [1, len(rows) - 1]

    inventory = await wallets.ListInventory(pb.ListInventoryRequest(user_id="ann"))
    assert _inventory(inventory) == [
        ("welcome", 1, 0, True, False),
        ("gold", 1, 0, True, False),
        ("chest", 2, 0, False, False),
        ("welcome", 1, 0, True, False),
    ]
    stub_coupons = {
        (r.grant.item_code, r.grant.expires_at.ToDatetime(tzinfo=dt.UTC))
        for r in stub.ledger.grants.values()
        if r.grant.kind == loyalty_pb.GRANT_KIND_COUPON
    }
    assert stub_coupons == {
        (e.item_code, e.expires_at.ToDatetime(tzinfo=dt.UTC))
        for e in inventory.entries
        if e.kind == COUPON
    }


async def test_expired_coupons_are_left_out_unless_asked_for(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _game(channel)
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="ann", timezone="UTC")
    )
    wallets = pb_grpc.WalletServiceStub(channel)
    clock.advance(days=7)

    current = await wallets.ListInventory(pb.ListInventoryRequest(user_id="ann"))
    everything = await wallets.ListInventory(
        pb.ListInventoryRequest(user_id="ann", include_expired=True)
    )
    balance = await wallets.GetBalance(pb.GetBalanceRequest(user_id="ann"))

    assert list(current.entries) == []
    assert _inventory(everything) == [("welcome", 1, 1, True, True)]
    # Balances count what was granted, expired or not.
    assert [(b.kind, b.item_code, b.granted) for b in balance.balances] == [
        (POINTS, "", 10), (XP, "", 0), (COUPON, "welcome", 1),
    ]  # fmt: skip


async def test_a_new_player_has_zero_points_and_xp_and_nothing_else(
    channel: grpc.aio.Channel,
) -> None:
    wallets = pb_grpc.WalletServiceStub(channel)

    balance = await wallets.GetBalance(pb.GetBalanceRequest(user_id="new"))
    history = await wallets.ListRewardHistory(pb.ListRewardHistoryRequest(user_id="new"))
    inventory = await wallets.ListInventory(pb.ListInventoryRequest(user_id="new"))

    assert _balances(balance) == [(POINTS, "", 0, 0, 0, 0, 0), (XP, "", 0, 0, 0, 0, 0)]
    assert not balance.balances[0].HasField("last_granted_at")
    assert (list(history.movements), history.next_page_token) == ([], "")
    assert (list(inventory.entries), inventory.next_page_token) == ([], "")


async def test_inventory_pages_cover_every_entry_once(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _game(channel)
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    for _ in range(5):  # five coupons, each with an expiry of its own
        await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="ann", timezone="UTC"))
        clock.advance(days=1)
    wallets = pb_grpc.WalletServiceStub(channel)
    clock.advance(days=-1)

    request = pb.ListInventoryRequest(user_id="ann", page_size=2)
    expiries: list[dt.datetime] = []
    while True:
        page = await wallets.ListInventory(request)
        assert len(page.entries) <= 2
        expiries.extend(e.expires_at.ToDatetime() for e in page.entries)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token

    assert len(expiries) == 5
    assert expiries == sorted(expiries, reverse=True)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ("GetBalance", "user_id"),
        ("ListRewardHistory", "user_id"),
        ("ListInventory", "user_id"),
    ],
)
async def test_an_empty_user_id_is_invalid(
    channel: grpc.aio.Channel, call: str, field: str
) -> None:
    stub = pb_grpc.WalletServiceStub(channel)
    request = {
        "GetBalance": pb.GetBalanceRequest(),
        "ListRewardHistory": pb.ListRewardHistoryRequest(),
        "ListInventory": pb.ListInventoryRequest(),
    }[call]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(stub, call)(request)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(field)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.ListRewardHistoryRequest(user_id="ann", page_size=501), "page_size"),
        (pb.ListRewardHistoryRequest(user_id="ann", page_size=-1), "page_size"),
        (pb.ListRewardHistoryRequest(user_id="ann", page_token="forged"), "page_token"),
        (pb.ListInventoryRequest(user_id="ann", page_size=501), "page_size"),
        (pb.ListInventoryRequest(user_id="ann", page_token="forged"), "page_token"),
    ],
)
async def test_bad_list_requests_name_the_field(
    channel: grpc.aio.Channel,
    request_: pb.ListRewardHistoryRequest | pb.ListInventoryRequest,
    field: str,
) -> None:
    stub = pb_grpc.WalletServiceStub(channel)
    call = (
        stub.ListRewardHistory(request_)
        if isinstance(request_, pb.ListRewardHistoryRequest)
        else stub.ListInventory(request_)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(field)


async def test_a_page_token_serves_only_the_list_and_user_it_was_made_for(
    channel: grpc.aio.Channel,
) -> None:
    await _game(channel)
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="ann", timezone="UTC"))
    wallets = pb_grpc.WalletServiceStub(channel)
    page = await wallets.ListRewardHistory(pb.ListRewardHistoryRequest(user_id="ann", page_size=1))
    token = page.next_page_token
    assert token

    for call in (
        wallets.ListRewardHistory(pb.ListRewardHistoryRequest(user_id="bob", page_token=token)),
        wallets.ListRewardHistory(
            pb.ListRewardHistoryRequest(user_id="ann", kind=POINTS, page_token=token)
        ),
        wallets.ListInventory(pb.ListInventoryRequest(user_id="ann", page_token=token)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_player_reads_only_its_own_wallet(server: RunningServer) -> None:
    async with auth.channel(server.port, auth.token("ann", "player")) as channel:
        wallets = pb_grpc.WalletServiceStub(channel)
        own = await wallets.GetBalance(pb.GetBalanceRequest(user_id="ann"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await wallets.ListRewardHistory(pb.ListRewardHistoryRequest(user_id="bob"))

    assert own.user_id == "ann"
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_export_holds_the_expiry_and_an_erased_user_holds_nothing(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    await _game(channel)
    await check_in_grpc.CheckInServiceStub(channel).CheckIn(
        check_in_pb.CheckInRequest(user_id="ann", timezone="UTC")
    )
    privacy = privacy_grpc.PrivacyAdminServiceStub(channel)
    wallets = pb_grpc.WalletServiceStub(channel)

    exported = await privacy.ExportUserData(privacy_pb.ExportUserDataRequest(user_id="ann"))
    await privacy.DeleteUserData(privacy_pb.DeleteUserDataRequest(user_id="ann", reason="asked"))
    balance = await wallets.GetBalance(pb.GetBalanceRequest(user_id="ann"))
    history = await wallets.ListRewardHistory(pb.ListRewardHistoryRequest(user_id="ann"))
    inventory = await wallets.ListInventory(
        pb.ListInventoryRequest(user_id="ann", include_expired=True)
    )

    coupon = next(g for g in exported.data.grants if g.kind == "coupon")
    assert (coupon.valid_days, coupon.expires_at) == (
        7,
        timestamp(clock.now() + dt.timedelta(days=7)),
    )
    # The grants stay under a pseudonym, as the outbox keeps them: none is the user's now.
    assert _balances(balance) == [(POINTS, "", 0, 0, 0, 0, 0), (XP, "", 0, 0, 0, 0, 0)]
    assert (list(history.movements), list(inventory.entries)) == ([], [])
