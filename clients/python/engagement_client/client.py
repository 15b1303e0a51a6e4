"""`EngagementClient`: one channel and a typed async stub for each service."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

import grpc

from engagement_client.channel import ClientOptions, open_channel
from engagement_client.gen.engagement.v1 import (
    audit_pb2_grpc,
    check_in_admin_pb2_grpc,
    check_in_pb2_grpc,
    events_pb2_grpc,
    goals_pb2_grpc,
    grants_pb2_grpc,
    leaderboard_pb2_grpc,
    leagues_pb2_grpc,
    live_pb2_grpc,
    player_pb2_grpc,
    privacy_pb2_grpc,
    rules_admin_pb2_grpc,
    social_pb2_grpc,
    wallet_pb2_grpc,
)
from engagement_client.gen.engagement.v1.leaderboard_pb2 import BoardRef
from engagement_client.watch import Watching, watch_request


class EngagementClient:
    """Typed stubs over one channel; `async with` closes it.

    Every unary call gets the options' deadline unless it passes `timeout=`, and calls that
    are safe to repeat (reads; writes carrying an idempotency key) are retried on
    UNAVAILABLE. A stream gets no deadline once open; it must open within that time.
    """

    def __init__(self, options: ClientOptions, channel: grpc.aio.Channel | None = None) -> None:
        self.options = options
        self.channel = open_channel(options) if channel is None else channel
        self.events = events_pb2_grpc.EventServiceStub(self.channel)
        self.check_in = check_in_pb2_grpc.CheckInServiceStub(self.channel)
        self.check_in_admin = check_in_admin_pb2_grpc.CheckInAdminServiceStub(self.channel)
        self.player = player_pb2_grpc.PlayerServiceStub(self.channel)
        self.leaderboard = leaderboard_pb2_grpc.LeaderboardServiceStub(self.channel)
        self.leaderboard_admin = leaderboard_pb2_grpc.LeaderboardAdminServiceStub(self.channel)
        self.rules_admin = rules_admin_pb2_grpc.RulesAdminServiceStub(self.channel)
        self.grants = grants_pb2_grpc.GrantAdminServiceStub(self.channel)
        self.privacy = privacy_pb2_grpc.PrivacyAdminServiceStub(self.channel)
        self.audit = audit_pb2_grpc.AuditAdminServiceStub(self.channel)
        self.leagues = leagues_pb2_grpc.LeagueServiceStub(self.channel)
        self.league_admin = leagues_pb2_grpc.LeagueAdminServiceStub(self.channel)
        self.goals = goals_pb2_grpc.GoalServiceStub(self.channel)
        self.goal_admin = goals_pb2_grpc.GoalAdminServiceStub(self.channel)
        self.duels = social_pb2_grpc.DuelServiceStub(self.channel)
        self.duel_admin = social_pb2_grpc.DuelAdminServiceStub(self.channel)
        self.assists = social_pb2_grpc.AssistServiceStub(self.channel)
        self.wallet = wallet_pb2_grpc.WalletServiceStub(self.channel)
        self.live = live_pb2_grpc.LiveServiceStub(self.channel)

    def watch_user(
        self, user_id: str, *, boards: Iterable[BoardRef | str] = (), after: str = ""
    ) -> Watching:
        """The user's live updates after position `after` (empty: from now on), with rank
        changes on `boards` (ids or BoardRefs), resumed across restarts and dropped
        connections: `async for update in client.watch_user("alice"): ...`."""
        request = watch_request(user_id, boards, after)
        return Watching(self.live, request, self.options.retry)

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> EngagementClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
