"""Which scopes may call each RPC, and for which user a player may act: one table."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

PLAYER, SERVICE, OPS = "player", "service", "ops"
KNOWN_SCOPES = frozenset({PLAYER, SERVICE, OPS})

# Services any caller may use without a credential: load balancers and grpcurl need them.
OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(frozen=True, slots=True)
class Access:
    """The scopes that may call an RPC; a player only for the user named in `user_field`."""

    scopes: frozenset[str]
    # The request field holding the user a player acts for; None lets a player read for anyone.
    user_field: str | None = None


def own(field: str) -> Access:
    """A player-facing RPC: a player for the user in `field`, a service for anyone."""
    return Access(frozenset({PLAYER, SERVICE}), field)


BOARD_READ = Access(frozenset({PLAYER, SERVICE}))
SERVICE_ONLY = Access(frozenset({SERVICE}))
OPS_ONLY = Access(frozenset({OPS}))

_V1 = "/engagement.v1."

# Every RPC of engagement.v1, keyed by full method name; a unit test keeps it complete.
ACCESS: dict[str, Access] = {
    _V1 + "AuditAdminService/ListAuditEntries": OPS_ONLY,
    _V1 + "CheckInService/CheckIn": own("user_id"),
    _V1 + "CheckInService/MakeUpCheckIn": own("user_id"),
    _V1 + "CheckInService/GetStreak": own("user_id"),
    _V1 + "CheckInService/GetCheckInCalendar": own("user_id"),
    _V1 + "CheckInAdminService/UpdateCheckInProgram": OPS_ONLY,
    _V1 + "CheckInAdminService/GetCheckInProgram": OPS_ONLY,
    _V1 + "DuelService/CreateDuel": own("challenger_id"),
    _V1 + "DuelService/RespondToDuel": own("user_id"),
    _V1 + "DuelService/GetDuel": own("user_id"),
    _V1 + "DuelService/ListMyDuels": own("user_id"),
    _V1 + "DuelAdminService/UpsertDuelType": OPS_ONLY,
    _V1 + "DuelAdminService/GetDuelType": OPS_ONLY,
    _V1 + "DuelAdminService/ListDuelTypes": OPS_ONLY,
    _V1 + "AssistService/AssistTask": own("helper_id"),
    _V1 + "EventService/TrackEvent": SERVICE_ONLY,
    _V1 + "EventService/TrackEvents": SERVICE_ONLY,
    _V1 + "GoalService/GetGoal": own("user_id"),
    _V1 + "GoalService/ListGoals": own("user_id"),
    _V1 + "GoalAdminService/UpsertGoal": OPS_ONLY,
    _V1 + "GoalAdminService/GetGoalDefinition": OPS_ONLY,
    _V1 + "GoalAdminService/ListGoalDefinitions": OPS_ONLY,
    _V1 + "GoalAdminService/CreateTeam": OPS_ONLY,
    _V1 + "GoalAdminService/AddTeamMembers": OPS_ONLY,
    _V1 + "GoalAdminService/RemoveTeamMembers": OPS_ONLY,
    _V1 + "GoalAdminService/ListTeamMembers": OPS_ONLY,
    _V1 + "GrantAdminService/ListGrants": OPS_ONLY,
    _V1 + "GrantAdminService/GetGrant": OPS_ONLY,
    _V1 + "GrantAdminService/RetryDeadGrants": OPS_ONLY,
    _V1 + "GrantAdminService/ReconcileGrants": OPS_ONLY,
    _V1 + "GrantAdminService/GetGrantStats": OPS_ONLY,
    _V1 + "LeaderboardService/SubmitScore": SERVICE_ONLY,
    _V1 + "LeaderboardService/GetLeaderboard": BOARD_READ,
    _V1 + "LeaderboardService/GetAroundMe": own("member_id"),
    _V1 + "LeaderboardService/GetRank": own("member_id"),
    _V1 + "LeaderboardService/GetFriendsLeaderboard": BOARD_READ,
    _V1 + "LeaderboardService/GetStandings": BOARD_READ,
    _V1 + "LeaderboardService/ListPeriods": BOARD_READ,
    _V1 + "LeaderboardService/SetMemberMetadata": own("member_id"),
    _V1 + "LeagueService/GetLeague": own("user_id"),
    _V1 + "LeagueService/ListLeagueHistory": own("user_id"),
    _V1 + "LeagueAdminService/UpsertLeague": OPS_ONLY,
    _V1 + "LeagueAdminService/GetLeagueDefinition": OPS_ONLY,
    _V1 + "LeagueAdminService/ListLeagues": OPS_ONLY,
    _V1 + "LeagueAdminService/EndLeagueSeason": OPS_ONLY,
    _V1 + "LeaderboardAdminService/UpsertBoard": OPS_ONLY,
    _V1 + "LeaderboardAdminService/GetBoard": OPS_ONLY,
    _V1 + "LeaderboardAdminService/ListBoards": OPS_ONLY,
    _V1 + "LeaderboardAdminService/FinalizePeriod": OPS_ONLY,
    _V1 + "LeaderboardAdminService/RebuildBoard": OPS_ONLY,
    _V1 + "LeaderboardAdminService/RebuildBoards": OPS_ONLY,
    _V1 + "LeaderboardAdminService/RemoveMember": OPS_ONLY,
    _V1 + "LeaderboardAdminService/ExcludeMember": OPS_ONLY,
    _V1 + "LeaderboardAdminService/ReinstateMember": OPS_ONLY,
    _V1 + "LiveService/WatchUser": own("user_id"),
    _V1 + "PlayerService/ListTasks": own("user_id"),
    _V1 + "PlayerService/ClaimTaskReward": own("user_id"),
    _V1 + "PlayerService/ListBadges": own("user_id"),
    _V1 + "PlayerService/GetProfile": own("user_id"),
    _V1 + "PrivacyAdminService/ExportUserData": OPS_ONLY,
    _V1 + "PrivacyAdminService/DeleteUserData": OPS_ONLY,
    _V1 + "RulesAdminService/UpsertDefinition": OPS_ONLY,
    _V1 + "RulesAdminService/GetDefinition": OPS_ONLY,
    _V1 + "RulesAdminService/ListDefinitions": OPS_ONLY,
    _V1 + "RulesAdminService/ArchiveDefinition": OPS_ONLY,
    _V1 + "RulesAdminService/DryRunDefinition": OPS_ONLY,
    _V1 + "RulesAdminService/ExplainProgress": OPS_ONLY,
    _V1 + "RulesAdminService/SetUserSegments": OPS_ONLY,
    _V1 + "RulesAdminService/ListFlaggedEvents": OPS_ONLY,
    _V1 + "WalletService/GetBalance": own("user_id"),
    _V1 + "WalletService/ListRewardHistory": own("user_id"),
    _V1 + "WalletService/ListInventory": own("user_id"),
}


def is_open(method: str) -> bool:
    """Whether `method` is served without a credential."""
    return method.startswith(OPEN_SERVICES)


def denial(access: Access, subject: str, scopes: frozenset[str], request: object) -> str | None:
    """Why a caller with `scopes` may not make this call, or None when it may."""
    granted = scopes & access.scopes
    if not granted:
        return "this call needs the scope " + " or ".join(sorted(access.scopes))
    player_only = granted == {PLAYER} and access.user_field is not None
    # A body that did not decode names no user; the error mapping refuses it next.
    if player_only and not isinstance(request, Message):
        return None
    if player_only and getattr(request, str(access.user_field)) != subject:
        return f"{access.user_field}: a player may act only for itself"
    return None
