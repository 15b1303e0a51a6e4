"""Why a user has, or has not, had a task's or badge's reward: each check with its reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from service.domain.rules.audience import audience_gap, in_rollout, rollout_bucket
from service.domain.rules.badge_progress import next_threshold
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.conditions import Condition
from service.domain.rules.definitions import BadgeDefinition, TaskDefinition
from service.domain.rules.state import BadgeState, Event, Profile, TaskState
from service.domain.rules.task_progress import blocker, in_window, task_window


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a definition for one user: whether it holds, and why."""

    name: str
    holds: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Explanation:
    kind: DefinitionKind
    definition_id: str
    version: int
    checks: tuple[Check, ...]
    progress: int
    target: int
    # Why no reward was granted; empty when one was.
    reason: str


@dataclass(frozen=True, slots=True)
class LastEvent:
    """The user's latest event of the definition's type, and why it was rejected if it was."""

    event: Event
    rejected: str = ""


def _condition_checks(conditions: tuple[Condition, ...], last: LastEvent | None) -> list[Check]:
    if last is None:
        return [Check("event", False, "no event of this type received yet")]
    checks = [Check("event", True, f"latest event {last.event.idempotency_key!r}")]
    for condition in conditions:
        why = condition.why_not(last.event.value, last.event.attributes)
        name = f"condition {condition.field} {condition.op} {list(condition.operands)}"
        checks.append(Check(name, why is None, why or "holds for the latest event"))
    if last.rejected:
        checks.append(Check("caps", False, f"latest event rejected: {last.rejected}"))
    return checks


def _first_failure(checks: list[Check]) -> str:
    return next((c.detail for c in checks if not c.holds), "")


def explain_task(
    task: TaskDefinition,
    profile: Profile,
    tasks: dict[str, TaskState],
    last: LastEvent | None,
    unclaimed: int,
    now: dt.datetime,
) -> Explanation:
    bucket = rollout_bucket(task.task_id, profile.user_id)
    rolled_out = in_rollout(task.task_id, profile.user_id, task.rollout_percent)
    checks = [
        Check(
            "rollout", rolled_out,
            f"{'in' if rolled_out else 'not in'} rollout: bucket {bucket}, "
            f"rollout {task.rollout_percent}%",
        ),
        Check("audience", not audience_gap(task.min_level, task.segments, profile),
              audience_gap(task.min_level, task.segments, profile) or "in the audience"),
    ]  # fmt: skip
    block = blocker(task, profile, tasks, now)
    checks.append(Check("available now", not block, block or "events count now"))
    checks.extend(_condition_checks(task.conditions, last))
    stored = tasks.get(task.task_id)
    current = in_window(task, stored, task_window(task, now, profile.timezone))
    progress, tiers = (current.progress, current.tiers_reached) if current else (0, 0)
    target = task.tiers[min(tiers, len(task.tiers) - 1)].target
    done = bool(stored and stored.completions) or tiers > 0
    checks.append(Check("progress", done, f"{progress} of {target} ({task.measure})"))
    if unclaimed:
        checks.append(Check("claimed", False, f"{unclaimed} completed tier(s) wait to be claimed"))
    reason = "" if done and not unclaimed else _first_failure(checks)
    return Explanation(
        DefinitionKind.TASK, task.task_id, task.version, tuple(checks), progress, target, reason
    )


def explain_badge(
    badge: BadgeDefinition,
    state: BadgeState,
    last: LastEvent | None,
    supply_left: int | None,
    now: dt.datetime,
) -> Explanation:
    checks = [
        Check("available", badge.available(now), _availability(badge)),
    ]
    if badge.supply:
        left = supply_left if supply_left is not None else badge.supply
        checks.append(Check("supply", left > 0 or state.tier > 0, f"{left} of {badge.supply} left"))
    if badge.criterion.event_type:
        checks.extend(_condition_checks(badge.criterion.conditions, last))
    target = next_threshold(badge, state) or badge.tiers[-1].threshold
    checks.append(
        Check(
            "progress",
            state.tier > 0,
            f"{state.progress} towards {target} ({badge.criterion.kind})",
        )
    )
    reason = "" if state.tier else _first_failure(checks)
    return Explanation(
        DefinitionKind.BADGE,
        badge.badge_id,
        badge.version,
        tuple(checks),
        state.progress,
        target,
        reason,
    )


def _availability(badge: BadgeDefinition) -> str:
    starts, ends = badge.available_from, badge.available_until
    if not starts and not ends:
        return "always available"
    return f"available from {starts or 'the start'} until {ends or 'further notice'}"
