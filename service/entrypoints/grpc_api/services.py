"""Every service the server offers, in one table: a new service is one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc

from service.bootstrap import App
from service.entrypoints.grpc_api.audit_servicer import AuditAdminServicer
from service.entrypoints.grpc_api.boards.servicer import (
    LeaderboardAdminServicer,
    LeaderboardServicer,
)
from service.entrypoints.grpc_api.check_in_servicer import CheckInAdminServicer, CheckInServicer
from service.entrypoints.grpc_api.goals.servicer import GoalAdminServicer, GoalServicer
from service.entrypoints.grpc_api.grants_servicer import GrantAdminServicer
from service.entrypoints.grpc_api.leagues.servicer import LeagueAdminServicer, LeagueServicer
from service.entrypoints.grpc_api.live.servicer import LiveServicer
from service.entrypoints.grpc_api.privacy.servicer import PrivacyAdminServicer
from service.entrypoints.grpc_api.rules.servicer import (
    EventServicer,
    PlayerServicer,
    RulesAdminServicer,
)
from service.entrypoints.grpc_api.social.servicer import (
    AssistServicer,
    DuelAdminServicer,
    DuelServicer,
)
from service.entrypoints.grpc_api.wallet_servicer import WalletServicer
from service.gen.engagement.v1 import (
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


@dataclass(frozen=True, slots=True)
class Offered:
    """A service of engagement.v1 and the servicer that implements it."""

    name: str  # e.g. "CheckInService"
    stubs: ModuleType  # the generated *_pb2_grpc module that declares it
    servicer: Callable[[App], Any]

    @property
    def full_name(self) -> str:
        return f"engagement.v1.{self.name}"

    def register(self, app: App, server: grpc.aio.Server) -> None:
        getattr(self.stubs, f"add_{self.name}Servicer_to_server")(self.servicer(app), server)


SERVICES = (
    Offered("CheckInService", check_in_pb2_grpc, CheckInServicer),
    Offered("CheckInAdminService", check_in_admin_pb2_grpc, CheckInAdminServicer),
    Offered("GrantAdminService", grants_pb2_grpc, GrantAdminServicer),
    Offered("LeaderboardService", leaderboard_pb2_grpc, LeaderboardServicer),
    Offered("LeaderboardAdminService", leaderboard_pb2_grpc, LeaderboardAdminServicer),
    Offered("EventService", events_pb2_grpc, EventServicer),
    Offered("PlayerService", player_pb2_grpc, PlayerServicer),
    Offered("RulesAdminService", rules_admin_pb2_grpc, RulesAdminServicer),
    Offered("AuditAdminService", audit_pb2_grpc, AuditAdminServicer),
    Offered("PrivacyAdminService", privacy_pb2_grpc, PrivacyAdminServicer),
    Offered("WalletService", wallet_pb2_grpc, WalletServicer),
    Offered("GoalService", goals_pb2_grpc, GoalServicer),
    Offered("GoalAdminService", goals_pb2_grpc, GoalAdminServicer),
    Offered("DuelService", social_pb2_grpc, DuelServicer),
    Offered("DuelAdminService", social_pb2_grpc, DuelAdminServicer),
    Offered("AssistService", social_pb2_grpc, AssistServicer),
    Offered("LiveService", live_pb2_grpc, LiveServicer),
    Offered("LeagueService", leagues_pb2_grpc, LeagueServicer),
    Offered("LeagueAdminService", leagues_pb2_grpc, LeagueAdminServicer),
)
SERVICE_NAMES = tuple(offered.full_name for offered in SERVICES)
