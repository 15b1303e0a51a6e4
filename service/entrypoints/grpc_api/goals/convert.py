"""Goal protos to and from the domain: definitions, progress, teams."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from service.app.goals.admin import MemberPage
from service.app.goals.ports import Member, Team
from service.app.goals.reads import GoalState, GoalView
from service.domain.errors import InvalidArgument
from service.domain.goals import GoalDefinition, GoalMilestone, GoalScope, MetricKind
from service.entrypoints.grpc_api.convert import (
    instant_from_pb,
    reward_to_pb,
    rewards_from_pb,
)
from service.entrypoints.grpc_api.enums import EnumTable
from service.entrypoints.grpc_api.rules.definition_convert import (
    conditions_from_pb,
    conditions_to_pb,
)
from service.gen.engagement.v1 import goals_pb2 as pb
from service.protobuf_time import timestamp

_SCOPES = EnumTable(
    {GoalScope.COMMUNITY: pb.GOAL_SCOPE_COMMUNITY, GoalScope.TEAM: pb.GOAL_SCOPE_TEAM}
)
_METRICS = EnumTable(
    {
        MetricKind.EVENT_COUNT: pb.GOAL_METRIC_EVENT_COUNT,
        MetricKind.EVENT_SUM: pb.GOAL_METRIC_EVENT_SUM,
        MetricKind.CHECK_IN: pb.GOAL_METRIC_CHECK_IN,
    }
)
_STATES = {
    GoalState.UPCOMING: pb.GOAL_STATE_UPCOMING,
    GoalState.ACTIVE: pb.GOAL_STATE_ACTIVE,
    GoalState.ENDED: pb.GOAL_STATE_ENDED,
}


def goal_from_pb(m: pb.Goal) -> GoalDefinition:
    """The goal the message describes, validated; errors name the request's field path."""
    starts = instant_from_pb(m, "starts_at", "goal.starts_at")
    ends = instant_from_pb(m, "ends_at", "goal.ends_at")
    if starts is None or ends is None:
        raise InvalidArgument("goal.starts_at" if starts is None else "goal.ends_at", "is required")
    milestones = tuple(
        GoalMilestone(ms.target, rewards_from_pb(ms.rewards, f"goal.milestones[{i}]"))
        for i, ms in enumerate(m.milestones)
    )
    goal = GoalDefinition(
        goal_id=m.goal_id,
        title=m.title,
        description=m.description,
        scope=_SCOPES.from_pb(m.scope, "goal.scope"),
        team_id=m.team_id,
        metric=_METRICS.from_pb(m.metric, "goal.metric"),
        event_types=tuple(m.event_types),
        conditions=conditions_from_pb(m.conditions, "goal.conditions"),
        starts_at=starts,
        ends_at=ends,
        milestones=milestones,
        min_contribution=m.min_contribution or 1,
    )
    try:
        goal.validate()
    except InvalidArgument as exc:
        raise InvalidArgument(f"goal.{exc.field}", exc.rule) from exc
    return goal


def goal_to_pb(goal: GoalDefinition) -> pb.Goal:
    return pb.Goal(
        goal_id=goal.goal_id,
        title=goal.title,
        description=goal.description,
        scope=_SCOPES.to_pb(goal.scope),
        team_id=goal.team_id,
        metric=_METRICS.to_pb(goal.metric),
        event_types=goal.event_types,
        conditions=conditions_to_pb(goal.conditions),
        starts_at=timestamp(goal.starts_at),
        ends_at=timestamp(goal.ends_at),
        milestones=[
            pb.GoalMilestone(target=ms.target, rewards=[reward_to_pb(r) for r in ms.rewards])
            for ms in goal.milestones
        ],
        min_contribution=goal.min_contribution,
        version=goal.version,
    )


def progress_to_pb(view: GoalView) -> pb.GoalProgress:
    standing, goal = view.standing, view.standing.goal
    left = Duration()
    left.FromTimedelta(view.time_left)
    return pb.GoalProgress(
        goal=goal_to_pb(goal),
        state=_STATES[view.state],
        total=standing.total,
        milestones=[
            pb.MilestoneProgress(
                target=ms.target,
                rewards=[reward_to_pb(r) for r in ms.rewards],
                reached=ms.target <= standing.total,
            )
            for ms in goal.milestones
        ],
        next_target=view.next.target if view.next else 0,
        to_next=view.next.target - standing.total if view.next else 0,
        contributors=standing.contributors,
        my_contribution=standing.mine,
        qualifies=view.qualifies,
        member=standing.member,
        time_left=left,
    )


def team_to_pb(team: Team) -> pb.Team:
    return pb.Team(
        team_id=team.team_id,
        name=team.name,
        created_at=timestamp(team.created_at),
        members=team.members,
    )


def member_to_pb(member: Member) -> pb.TeamMember:
    return pb.TeamMember(user_id=member.user_id, joined_at=timestamp(member.joined_at))


def members_to_pb(page: MemberPage) -> pb.ListTeamMembersResponse:
    return pb.ListTeamMembersResponse(
        members=[member_to_pb(m) for m in page.members], next_page_token=page.next_page_token
    )
