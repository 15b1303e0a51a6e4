"""Player handlers: tasks with progress, claims, badges and the profile with its level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.live.publish import publish_claim
from service.app.ports import Clock, UnitOfWork
from service.app.rules.outcomes import VELOCITY_SPAN, Rules, decide, store
from service.app.rules.views import BadgeView, Claimed, ProfileView, TaskView
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from service.domain.rules import levels
from service.domain.rules.badge_progress import blank, next_threshold
from service.domain.rules.checks import MAX_LIST, check_segment
from service.domain.rules.engine import evaluate_claim
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.state import Outcome, Profile, Shared, TaskCompletion, UserState
from service.domain.rules.task_progress import blocker, in_window, takes_part, task_window
from service.domain.validation import check_id

# Shown instead of the reason (a rollout bucket, an audience rule) to a player who left a
# task's audience with rewards still to claim.
NOT_OPEN = "no longer open to this user"


async def list_tasks(user_id: str, *, uow: UnitOfWork, rules: Rules) -> list[TaskView]:
    """Every live task the user takes part in (rollout and audience), with the user's
    progress in its current window; one the user left still shows while rewards wait.
    One round trip."""
    check_id("user_id", user_id)
    ruleset = await rules.catalog.current()
    now = rules.clock.now()
    async with uow:
        found = await uow.rule_state.task_list(user_id)
    profile, tasks, unclaimed = found.profile, found.tasks, found.unclaimed
    views = []
    for task_id in sorted(ruleset.tasks):
        task = ruleset.tasks[task_id]
        member = takes_part(task, profile)
        if not member and not unclaimed.get(task_id):
            continue
        window = task_window(task, now, profile.timezone)
        stored = tasks.get(task_id)
        current = in_window(task, stored, window)
        tiers = current.tiers_reached if current else 0
        view = TaskView(
            task, window.window_id, window.end,
            progress=current.progress if current else 0,
            target=task.tiers[min(tiers, len(task.tiers) - 1)].target,
            tiers_reached=tiers,
            completions=stored.completions if stored else 0,
            claimable=unclaimed.get(task_id, 0),
            blocked=blocker(task, profile, tasks, now) if member else NOT_OPEN,
        )  # fmt: skip
        views.append(view)
    return views


async def claim_task_reward(
    user_id: str, task_id: str, *, uow: UnitOfWork, rules: Rules
) -> Claimed:
    """Grant every completed tier of the task still waiting to be claimed."""
    check_id("user_id", user_id)
    check_id("task_id", task_id)
    ruleset = await rules.catalog.current()
    now = rules.clock.now()
    async with uow:
        profile = await uow.rule_state.lock_profile(user_id, "")
        pending = await uow.rule_state.lock_unclaimed(user_id, task_id)
        if not pending:
            if task_id not in ruleset.tasks:
                raise NotFound("task", task_id)
            raise FailedPrecondition(f"no completed tier of task {task_id} waits to be claimed")
        state = await uow.rule_state.load(profile, (), now - VELOCITY_SPAN)
        # As many as the caps let through, oldest first: one large claim must not block
        # the smaller ones forever.
        for count in range(len(pending), 0, -1):
            chosen = pending[:count]
            outcome = await decide(uow, ruleset, _claiming(chosen, state, ruleset, now))
            if not outcome.effects.rejected:
                break
        if outcome.effects.rejected:
            raise ResourceExhausted(outcome.effects.rejected)
        await store(uow, [(state, state.after(outcome))], (), outcome.effects.grants)
        await uow.rule_state.mark_claimed(chosen, now)
        await uow.commit()
    await publish_claim(rules.boards.feed, user_id, outcome.effects.grants, now)
    return Claimed(outcome.effects.completions, outcome.effects.grants)


def _claiming(
    chosen: list[TaskCompletion], state: UserState, ruleset: RuleSet, now: dt.datetime
) -> Callable[[Shared], Outcome]:
    return lambda shared: evaluate_claim(chosen, state, ruleset, shared, now)


async def list_badges(user_id: str, *, uow: UnitOfWork, rules: Rules) -> list[BadgeView]:
    """Earned badges and locked ones with progress; a secret badge shows once earned."""
    check_id("user_id", user_id)
    ruleset = await rules.catalog.current()
    async with uow:
        held = await uow.rule_state.badge_states(user_id)
    rarity = await rules.rarity.current()
    views = []
    for badge_id in sorted(ruleset.badges):
        badge = ruleset.badges[badge_id]
        state = held.get(badge_id) or blank(badge, user_id)
        if badge.secret and not state.tier:
            continue
        views.append(BadgeView(badge, state, rarity.of(badge_id), next_threshold(badge, state)))
    return views


async def get_profile(user_id: str, *, uow: UnitOfWork, rules: Rules) -> ProfileView:
    """The user's XP and level, and the way to the next level."""
    check_id("user_id", user_id)
    ruleset = await rules.catalog.current()
    async with uow:
        profile = await uow.rule_state.get_profile(user_id) or Profile(user_id)
    reached = levels.progress(profile.xp, ruleset.levels)
    return ProfileView(
        profile, reached.level, reached.next_level, reached.xp_to_next_level,
        reached.progress_percent,
    )  # fmt: skip


async def set_segments(
    user_id: str,
    segments: Sequence[str],
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor = SYSTEM,
) -> Profile:
    """Replace the segments (tags) a user belongs to; task and boost audiences read them."""
    check_id("user_id", user_id)
    if len(segments) > MAX_LIST:
        raise InvalidArgument("segments", f"must hold at most {MAX_LIST} segments")
    for index, segment in enumerate(segments):
        check_segment(f"segments[{index}]", segment)
    async with uow:
        profile = await uow.rule_state.lock_profile(user_id, "")
        updated = replace(profile, segments=tuple(sorted(set(segments))))
        await uow.rule_state.save_profile(updated)
        details = {"before": list(profile.segments), "after": list(updated.segments)}
        change = Change("RulesAdminService/SetUserSegments", "user", user_id, details=details)
        await record(uow, actor, clock, change)
        await uow.commit()
    return updated
