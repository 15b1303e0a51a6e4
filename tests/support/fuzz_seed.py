"""A little of everything on a fresh server, through its API, so that fuzzed requests can
name ids that exist: a program, boards, a task, a badge, users with check-ins and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from leaderboard.periods import ALL_TIME_ID
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_admin_pb2_grpc as admin_grpc
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import check_in_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import goals_pb2 as goals_pb
from service.gen.engagement.v1 import goals_pb2_grpc as goals_grpc
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import grants_pb2_grpc as grants_grpc
from service.gen.engagement.v1 import leaderboard_pb2 as lb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.gen.engagement.v1 import leagues_pb2 as leagues_pb
from service.gen.engagement.v1 import leagues_pb2_grpc as leagues_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from service.gen.engagement.v1 import social_pb2 as social_pb
from service.gen.engagement.v1 import social_pb2_grpc as social_grpc
from service.protobuf_time import timestamp
from tests.support.clock import MovableClock
from tests.support.fuzz_requests import Known, forgeries

USERS = ("fuzz-ann", "fuzz-bob", "fuzz-cy")
EVENT_TYPE = "fuzz.order"
POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=10)
# Fills the players' inventories, with an expiry.
COUPON = rewards_pb2.Reward(
    kind=rewards_pb2.REWARD_KIND_COUPON, amount=1, item_code="fuzz-coupon", valid_days=7
)

Metadata = Callable[[str], Any]


def _boards() -> list[lb.Board]:
    common: dict[str, Any] = {
        "sort_order": lb.SORT_ORDER_HIGHER_IS_BETTER,
        "aggregation": lb.AGGREGATION_SUM,
        "tie_policy": lb.TIE_POLICY_FIRST_TO_REACH,
        "timezone": "UTC",
        "source_event_types": [EVENT_TYPE],
    }
    return [
        lb.Board(
            board_id="fuzz-all", title="All time", period=lb.Period(kind=lb.PERIOD_KIND_ALL_TIME),
            **common,
        ),
        lb.Board(
            board_id="fuzz-weekly", title="Weekly", period=lb.Period(kind=lb.PERIOD_KIND_WEEKLY),
            partition_attribute="region", retention_periods=2,
            rewards=[lb.RankReward(first_rank=1, last_rank=3, rewards=[POINTS])], **common,
        ),
        lb.Board(
            board_id="fuzz-league", title="League", period=lb.Period(kind=lb.PERIOD_KIND_WEEKLY),
            partition_attribute="cohort", retention_periods=2, **common,
        ),
    ]  # fmt: skip


LEAGUE = leagues_pb.League(
    league_id="fuzz-league", title="League", board_id="fuzz-league", cohort_size=2,
    tiers=[
        leagues_pb.LeagueTier(tier_id="bronze", title="Bronze", promote_count=1,
                              promotion_rewards=[POINTS]),
        leagues_pb.LeagueTier(tier_id="silver", title="Silver", demote_count=1,
                              idle_rule=leagues_pb.IDLE_RULE_DROP),
    ],
)  # fmt: skip


def _definitions() -> list[defs.Definition]:
    tiers = [defs.TaskTier(target=2, rewards=[POINTS]), defs.TaskTier(target=5, rewards=[POINTS])]
    return [
        defs.Definition(task=defs.TaskDefinition(
            task_id="fuzz-task", title="Orders", event_type=EVENT_TYPE,
            measure=defs.MEASURE_COUNT, cadence=defs.CADENCE_DAILY, tiers=tiers,
        )),
        defs.Definition(task=defs.TaskDefinition(
            task_id="fuzz-claim", title="Claim me", event_type=EVENT_TYPE,
            measure=defs.MEASURE_SUM, cadence=defs.CADENCE_ONCE, auto_claim=False,
            tiers=[defs.TaskTier(target=1, rewards=[POINTS])],
        )),
        defs.Definition(task=defs.TaskDefinition(
            task_id="fuzz-assist", title="Help me", event_type=EVENT_TYPE,
            tiers=[defs.TaskTier(target=3, rewards=[POINTS])],
            assists=defs.TaskAssists(per_friend_cap=2, per_task_cap=4, window_seconds=60),
        )),
        defs.Definition(badge=defs.BadgeDefinition(
            badge_id="fuzz-badge", title="Buyer",
            criterion=defs.BadgeCriterion(
                kind=defs.CRITERION_KIND_EVENT_COUNT, event_type=EVENT_TYPE
            ),
            tiers=[defs.BadgeTier(name="bronze", threshold=1)],
        )),
    ]  # fmt: skip


async def _goals(channel: grpc.aio.Channel, clock: MovableClock, ops: Any) -> None:
    """A team with the users, and a team and a community goal open for a day."""
    admin = goals_grpc.GoalAdminServiceStub(channel)
    await admin.CreateTeam(
        goals_pb.CreateTeamRequest(team_id="fuzz-team", name="Fuzz"), metadata=ops
    )
    await admin.AddTeamMembers(
        goals_pb.AddTeamMembersRequest(team_id="fuzz-team", user_ids=USERS), metadata=ops
    )
    now = clock.now()
    for goal_id, team in (("fuzz-goal", ""), ("fuzz-team-goal", "fuzz-team")):
        goal = goals_pb.Goal(
            goal_id=goal_id, title=goal_id, team_id=team, metric=goals_pb.GOAL_METRIC_EVENT_SUM,
            scope=goals_pb.GOAL_SCOPE_TEAM if team else goals_pb.GOAL_SCOPE_COMMUNITY,
            event_types=[EVENT_TYPE], starts_at=timestamp(now),
            ends_at=timestamp(now + dt.timedelta(days=1)), min_contribution=100,
            milestones=[goals_pb.GoalMilestone(target=200, rewards=[POINTS])],
        )  # fmt: skip
        await admin.UpsertGoal(goals_pb.UpsertGoalRequest(goal=goal), metadata=ops)


async def page_tokens(
    channel: grpc.aio.Channel, methods: Sequence[tuple[str, MethodDescriptor]], metadata: Any
) -> list[str]:
    """A first page of one item from every paged RPC, for the token of the next page."""
    tokens = []
    for path, method in methods:
        fields = method.input_type.fields_by_name
        if "page_size" not in fields or "next_page_token" not in method.output_type.fields_by_name:
            continue
        # A player's list pages through a user with grants.
        user = {"user_id": USERS[0]} if "user_id" in fields else {}
        request = GetMessageClass(method.input_type)(page_size=1, **user)
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        try:
            body = await call(request.SerializeToString(), metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError:
            continue  # it needs more than a page size; the generated requests try those
        response = GetMessageClass(method.output_type).FromString(body)
        tokens.extend(forgeries(response.next_page_token))  # type: ignore[attr-defined]
    return tokens


async def _seed_duel(channel: grpc.aio.Channel, ops: Any) -> None:
    """A duel type, and one duel of it that its opponent accepted."""
    duel_type = social_pb.DuelType(
        type_id="fuzz-duel", title="PK", event_types=[EVENT_TYPE], window_seconds=3600,
        respond_within_seconds=600, winner_rewards=[POINTS], max_open_per_user=5,
    )  # fmt: skip
    await social_grpc.DuelAdminServiceStub(channel).UpsertDuelType(
        social_pb.UpsertDuelTypeRequest(duel_type=duel_type), metadata=ops
    )
    stub = social_grpc.DuelServiceStub(channel)
    created = await stub.CreateDuel(social_pb.CreateDuelRequest(
        challenger_id=USERS[0], opponent_id=USERS[1], type_id="fuzz-duel",
        idempotency_key="fuzz-duel-1",
    ), metadata=ops)  # fmt: skip
    await stub.RespondToDuel(social_pb.RespondToDuelRequest(
        duel_id=created.duel.duel_id, user_id=USERS[1], accept=True
    ), metadata=ops)  # fmt: skip


async def seed_server(channel: grpc.aio.Channel, clock: MovableClock, metadata: Metadata) -> Known:
    """Store the seed through the API and return the ids it made."""
    ops = metadata("ops")
    program = admin_pb.CheckInProgram(
        cycle=[admin_pb.CycleDay(rewards=[POINTS, COUPON])], starting_freezes=1, max_freezes=2,
        make_up_window_days=3, make_up_tickets_per_month=2,
    )  # fmt: skip
    await admin_grpc.CheckInAdminServiceStub(channel).UpdateCheckInProgram(
        admin_pb.UpdateCheckInProgramRequest(program=program), metadata=ops
    )
    boards = lb_grpc.LeaderboardAdminServiceStub(channel)
    for board in _boards():
        await boards.UpsertBoard(lb.UpsertBoardRequest(board=board), metadata=ops)
    await _goals(channel, clock, ops)
    await leagues_grpc.LeagueAdminServiceStub(channel).UpsertLeague(
        leagues_pb.UpsertLeagueRequest(league=LEAGUE), metadata=ops
    )
    rules = rules_grpc.RulesAdminServiceStub(channel)
    for definition in _definitions():
        await rules.UpsertDefinition(
            rules_pb.UpsertDefinitionRequest(definition=definition), metadata=ops
        )
    keys = []
    for n, user in enumerate(USERS):
        await pb_grpc.CheckInServiceStub(channel).CheckIn(
            pb.CheckInRequest(user_id=user, timezone="Europe/Berlin"), metadata=ops
        )
        await rules.SetUserSegments(
            rules_pb.SetUserSegmentsRequest(user_id=user, segments=["vip"]), metadata=ops
        )
        for i in range(2):
            keys.append(f"fuzz-{n}-{i}")
            await events_grpc.EventServiceStub(channel).TrackEvent(
                events_pb.TrackEventRequest(
                    user_id=user, type=EVENT_TYPE, value=100 * (n + 1), idempotency_key=keys[-1],
                    attributes={"region": "eu"},
                ),
                metadata=ops,
            )  # fmt: skip
    await _seed_duel(channel, ops)
    grants = await grants_grpc.GrantAdminServiceStub(channel).ListGrants(
        grants_pb.ListGrantsRequest(), metadata=ops
    )
    now = clock.now()
    return Known(
        now=now, users=USERS, boards=("fuzz-all", "fuzz-weekly", "fuzz-league"),
        definitions=(
            "fuzz-task", "fuzz-claim", "fuzz-badge", "fuzz-goal", "fuzz-team-goal", "fuzz-team",
            "fuzz-assist", "fuzz-duel", "fuzz-league",
        ), event_types=(EVENT_TYPE,),
        keys=tuple(keys), timezones=("UTC", "Europe/Berlin", "Pacific/Kiritimati", "Mars/Base"),
        segments=("vip", "beta:eu"), partitions=("", "eu", "bronze-1"),
        periods=("", ALL_TIME_ID, f"w{now:%Y-%m-%d}", f"d{now:%Y-%m-%d}", f"m{now:%Y-%m}"),
        grants=tuple(g.grant.idempotency_key for g in grants.grants[:5]) or ("x",),
    )  # fmt: skip
