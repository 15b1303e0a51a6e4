"""WalletService: a player's balances, ledger of grants and inventory, protos in and out."""

from __future__ import annotations

from service.app.wallet import handlers as wallet
from service.bootstrap import App
from service.domain.errors import InvalidArgument
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import RewardKind
from service.domain.wallet import Balance, InventoryEntry
from service.entrypoints.grpc_api import convert
from service.entrypoints.grpc_api.context import Context
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import rewards_pb2 as rewards_pb
from service.gen.engagement.v1 import wallet_pb2 as pb
from service.gen.engagement.v1 import wallet_pb2_grpc as pb_grpc

_STATUS = {
    GrantStatus.PENDING: grants_pb.GRANT_STATUS_PENDING,
    GrantStatus.DELIVERED: grants_pb.GRANT_STATUS_DELIVERED,
    GrantStatus.DEAD: grants_pb.GRANT_STATUS_DEAD,
    GrantStatus.CANCELLED: grants_pb.GRANT_STATUS_CANCELLED,
}
_KINDS_BACK = {convert.reward_kind_to_pb(kind): kind for kind in RewardKind}


def _kind_from_pb(value: rewards_pb.RewardKind.ValueType) -> RewardKind | None:
    if value == rewards_pb.REWARD_KIND_UNSPECIFIED:
        return None
    if value not in _KINDS_BACK:
        raise InvalidArgument("kind", "must be unspecified or one of points, coupon, item, xp")
    return _KINDS_BACK[value]


def balance_to_pb(balance: Balance) -> pb.Balance:
    return pb.Balance(
        kind=convert.reward_kind_to_pb(balance.kind),
        item_code=balance.item_code,
        granted=balance.granted,
        delivered=balance.delivered,
        pending=balance.pending,
        dead=balance.dead,
        grant_count=balance.grant_count,
        last_granted_at=convert.instant_to_pb(balance.last_granted_at),
    )


def movement_to_pb(item: OutboxGrant) -> pb.RewardMovement:
    return pb.RewardMovement(
        grant=convert.grant_to_pb(item.grant),
        status=_STATUS[item.status],
        granted_at=convert.instant_to_pb(item.created_at),
        delivered_at=convert.instant_to_pb(item.delivered_at),
    )


def entry_to_pb(entry: InventoryEntry, expired: bool) -> pb.InventoryEntry:
    return pb.InventoryEntry(
        kind=convert.reward_kind_to_pb(entry.kind),
        item_code=entry.item_code,
        quantity=entry.quantity,
        pending=entry.pending,
        expires_at=convert.instant_to_pb(entry.expires_at),
        expired=expired,
        first_granted_at=convert.instant_to_pb(entry.first_granted_at),
        last_granted_at=convert.instant_to_pb(entry.last_granted_at),
    )


class WalletServicer(pb_grpc.WalletServiceServicer):
    """What a player holds from this service, read from the grant outbox."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: Context
    ) -> pb.GetBalanceResponse:
        found = await wallet.get_balance(request.user_id, wallets=self._app.wallets())
        return pb.GetBalanceResponse(
            user_id=request.user_id, balances=[balance_to_pb(b) for b in found]
        )

    async def ListRewardHistory(
        self, request: pb.ListRewardHistoryRequest, context: Context
    ) -> pb.ListRewardHistoryResponse:
        query = wallet.HistoryQuery(
            request.user_id, _kind_from_pb(request.kind), request.page_size, request.page_token
        )
        page = await wallet.list_reward_history(
            query, wallets=self._app.wallets(), tokens=self._app.page_tokens
        )
        return pb.ListRewardHistoryResponse(
            movements=[movement_to_pb(m) for m in page.movements],
            next_page_token=page.next_page_token,
        )

    async def ListInventory(
        self, request: pb.ListInventoryRequest, context: Context
    ) -> pb.ListInventoryResponse:
        query = wallet.InventoryQuery(
            request.user_id, request.include_expired, request.page_size, request.page_token
        )
        app = self._app
        page = await wallet.list_inventory(
            query, wallets=app.wallets(), tokens=app.page_tokens, clock=app.clock
        )
        return pb.ListInventoryResponse(
            entries=[entry_to_pb(e, e.expired(page.as_of)) for e in page.entries],
            next_page_token=page.next_page_token,
        )
