"""Translations between event, player and insight protos and the rules handlers' values."""

from __future__ import annotations

from collections.abc import Iterable

from service.app.rules.insight import FlaggedPage
from service.app.rules.ports import EventStatus
from service.app.rules.views import (
    BadgeView,
    Claimed,
    DryRunReport,
    ProfileView,
    TaskView,
    Tracked,
    TrackEvent,
)
from service.domain.errors import InvalidArgument
from service.domain.rules.definitions import BadgeDefinition, TaskDefinition
from service.domain.rules.explain import Explanation
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import BadgeUnlock, LevelUp, TaskChange, TaskCompletion
from service.entrypoints.grpc_api.convert import (
    grant_to_pb,
    instant_from_pb,
    instant_to_pb,
    reward_to_pb,
)
from service.entrypoints.grpc_api.rules.definition_convert import (
    CADENCES,
    KINDS,
    definition_from_pb,
)
from service.gen.engagement.v1 import definitions_pb2 as defs_pb
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import rewards_pb2 as rewards_pb
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb

_STATUS = {
    EventStatus.APPLIED: events_pb.EVENT_STATUS_APPLIED,
    EventStatus.REJECTED: events_pb.EVENT_STATUS_REJECTED,
}


def track_event_from_pb(m: events_pb.TrackEventRequest, prefix: str = "") -> TrackEvent:
    """The command of one event; `prefix` ("events[3].") places its fields in a batch."""
    return TrackEvent(
        user_id=m.user_id,
        type=m.type,
        idempotency_key=m.idempotency_key,
        value=m.value,
        attributes=dict(m.attributes),
        occurred_at=instant_from_pb(m, "occurred_at", f"{prefix}occurred_at"),
        timezone=m.timezone,
    )


def track_events_from_pb(m: events_pb.TrackEventsRequest) -> list[TrackEvent]:
    return [track_event_from_pb(e, f"events[{i}].") for i, e in enumerate(m.events)]


def task_change_to_pb(change: TaskChange) -> events_pb.TaskProgress:
    return events_pb.TaskProgress(
        task_id=change.task_id,
        version=change.version,
        window_id=change.window_id,
        progress=change.progress,
        target=change.target,
        tiers_reached=change.tiers_reached,
        window_end=instant_to_pb(change.window_end),
    )


def completion_to_pb(completion: TaskCompletion) -> events_pb.TaskCompletion:
    return events_pb.TaskCompletion(
        user_id=completion.user_id,
        task_id=completion.task_id,
        version=completion.version,
        run=completion.run,
        tier=completion.tier,
        window_id=completion.window_id,
        rewards=[reward_to_pb(r) for r in completion.rewards],
        completed_at=instant_to_pb(completion.completed_at),
        event_idempotency_key=completion.event_key,
        claimed_at=instant_to_pb(completion.claimed_at),
    )


def unlock_to_pb(unlock: BadgeUnlock) -> events_pb.BadgeUnlock:
    return events_pb.BadgeUnlock(
        badge_id=unlock.badge_id,
        version=unlock.version,
        tier=unlock.tier,
        tier_name=unlock.tier_name,
    )


def level_up_to_pb(level_up: LevelUp) -> events_pb.LevelUp:
    return events_pb.LevelUp(level=level_up.level, name=level_up.name)


def tracked_to_pb(tracked: Tracked) -> events_pb.EventEffects:
    effects = tracked.effects
    return events_pb.EventEffects(
        status=_STATUS[tracked.status],
        duplicate=tracked.duplicate,
        rejected_reason=effects.rejected,
        task_progress=[task_change_to_pb(c) for c in effects.task_changes],
        completions=[completion_to_pb(c) for c in effects.completions],
        badge_unlocks=[unlock_to_pb(u) for u in effects.badges],
        level_ups=[level_up_to_pb(u) for u in effects.level_ups],
        board_ids=effects.board_submissions,
        grants=[grant_to_pb(g) for g in effects.grants],
        notices=effects.notices,
    )


def _next_tier_rewards(task: TaskDefinition, tiers_reached: int) -> list[rewards_pb.Reward]:
    if tiers_reached >= len(task.tiers):
        return []
    return [reward_to_pb(r) for r in task.tiers[tiers_reached].rewards]


def task_view_to_pb(view: TaskView) -> player_pb.PlayerTask:
    task = view.task
    return player_pb.PlayerTask(
        task_id=task.task_id,
        title=task.title,
        description=task.description,
        cadence=CADENCES.to_pb(task.cadence),
        progress=view.progress,
        target=view.target,
        tiers_reached=view.tiers_reached,
        tier_count=len(task.tiers),
        completions=view.completions,
        claimable=view.claimable,
        window_id=view.window_id,
        window_end=instant_to_pb(view.window_end),
        blocked_reason=view.blocked,
        next_tier_rewards=_next_tier_rewards(task, view.tiers_reached),
        version=task.version,
    )


def claimed_to_pb(claimed: Claimed) -> player_pb.ClaimTaskRewardResponse:
    return player_pb.ClaimTaskRewardResponse(
        completions=[completion_to_pb(c) for c in claimed.completions],
        grants=[grant_to_pb(g) for g in claimed.grants],
    )


def _tier_name(badge: BadgeDefinition, tier: int) -> str:
    return badge.tiers[tier - 1].name if 0 < tier <= len(badge.tiers) else ""


def badge_view_to_pb(view: BadgeView) -> player_pb.PlayerBadge:
    badge, state = view.badge, view.state
    # A secret badge keeps its secret until it is earned.
    hidden = badge.secret and state.tier == 0
    return player_pb.PlayerBadge(
        badge_id=badge.badge_id,
        title="" if hidden else badge.title,
        description="" if hidden else badge.description,
        tier=state.tier,
        tier_name=_tier_name(badge, state.tier),
        tier_count=len(badge.tiers),
        progress=state.progress,
        next_threshold=view.next_threshold,
        rarity=view.rarity,
        earned_at=instant_to_pb(state.earned_at),
        secret=badge.secret,
    )


def badges_to_pb(views: Iterable[BadgeView]) -> player_pb.ListBadgesResponse:
    response = player_pb.ListBadgesResponse()
    for view in views:
        group = response.earned if view.state.tier > 0 else response.locked
        group.append(badge_view_to_pb(view))
    return response


def profile_view_to_pb(view: ProfileView) -> player_pb.PlayerProfile:
    profile = view.profile
    return player_pb.PlayerProfile(
        user_id=profile.user_id,
        level=view.level.level,
        level_name=view.level.name,
        xp=profile.xp,
        xp_to_next_level=view.xp_to_next_level,
        progress_percent=view.progress_percent,
        next_level_name=view.next_level.name if view.next_level else "",
        segments=profile.segments,
        timezone=profile.timezone,
    )


def valid_definition_from_pb(m: defs_pb.Definition, field: str = "definition") -> Definition:
    """As definition_from_pb, then validated, the error naming the field by the request's path
    (the domain names fields within the definition)."""
    definition = definition_from_pb(m, field)
    try:
        definition.validate()
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"{field}.{m.WhichOneof('definition')}.{exc.field}", exc.rule
        ) from exc
    return definition


def dry_run_from_pb(m: admin_pb.DryRunDefinitionRequest) -> tuple[Definition, int]:
    """The draft and the days to replay."""
    return valid_definition_from_pb(m.definition), m.days


def dry_run_to_pb(report: DryRunReport) -> admin_pb.DryRunDefinitionResponse:
    return admin_pb.DryRunDefinitionResponse(
        days=report.days,
        events_evaluated=report.events_evaluated,
        users_evaluated=report.users_evaluated,
        users_completing=report.users_completing,
        grant_cost=[reward_to_pb(r) for r in report.grant_cost],
    )


def explanation_to_pb(explanation: Explanation) -> admin_pb.ExplainProgressResponse:
    return admin_pb.ExplainProgressResponse(
        kind=KINDS.to_pb(explanation.kind),
        definition_id=explanation.definition_id,
        version=explanation.version,
        checks=[
            admin_pb.ProgressCheck(name=c.name, holds=c.holds, detail=c.detail)
            for c in explanation.checks
        ],
        progress=explanation.progress,
        target=explanation.target,
        reason=explanation.reason,
    )


def flagged_to_pb(page: FlaggedPage) -> admin_pb.ListFlaggedEventsResponse:
    return admin_pb.ListFlaggedEventsResponse(
        events=[
            admin_pb.FlaggedEvent(
                idempotency_key=s.event.idempotency_key,
                user_id=s.event.user_id,
                type=s.event.type,
                value=s.event.value,
                attributes=dict(s.event.attributes),
                occurred_at=instant_to_pb(s.event.occurred_at),
                received_at=instant_to_pb(s.received_at),
                reason=s.effects.rejected,
            )
            for s in page.events
        ],
        next_page_token=page.next_page_token,
    )
