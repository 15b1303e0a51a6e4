"""How an event moves a user's task forward, and why a task cannot move."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from service.domain.rules.audience import audience_gap, in_rollout, rollout_bucket
from service.domain.rules.definitions import Measure, TaskDefinition
from service.domain.rules.limits import saturated
from service.domain.rules.state import Event, Profile, TaskChange, TaskState
from service.domain.rules.windows import Cadence, Window, earlier, local_day, window_at

_WEEKDAYS = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def task_window(task: TaskDefinition, at: dt.datetime, timezone: str) -> Window:
    return window_at(
        task.cadence,
        at,
        timezone,
        week_start=task.week_start,
        starts_on=task.starts_on,
        ends_on=task.ends_on,
    )


def in_window(task: TaskDefinition, state: TaskState | None, window: Window) -> TaskState | None:
    """The state if it belongs to `window`; progress of an earlier window does not count."""
    return state if state is not None and state.window_id == window.window_id else None


def blocker(
    task: TaskDefinition,
    profile: Profile,
    tasks: Mapping[str, TaskState],
    at: dt.datetime,
) -> str:
    """Why an event at `at` cannot move the task for this user, or "" when it can."""
    return (
        _audience_blocker(task, profile, tasks)
        or _calendar_blocker(task, local_day(at, profile.timezone))
        or _completion_blocker(task, tasks.get(task.task_id), at, profile.timezone)
    )


def _audience_blocker(
    task: TaskDefinition, profile: Profile, tasks: Mapping[str, TaskState]
) -> str:
    if not in_rollout(task.task_id, profile.user_id, task.rollout_percent):
        bucket = rollout_bucket(task.task_id, profile.user_id)
        return f"not in rollout: bucket {bucket} is outside the first {task.rollout_percent}%"
    if gap := audience_gap(task.min_level, task.segments, profile):
        return gap
    for prerequisite in task.prerequisites:
        done = tasks.get(prerequisite)
        if done is None or not done.completions:
            return f"prerequisite {prerequisite} not done"
    return ""


def _calendar_blocker(task: TaskDefinition, day: dt.date) -> str:
    if task.starts_on and day < task.starts_on:
        return f"window not open: starts on {task.starts_on}"
    if task.ends_on and day > task.ends_on:
        return f"window closed: ended on {task.ends_on}"
    if task.active_weekdays and day.isoweekday() not in task.active_weekdays:
        return f"not active on {_WEEKDAYS[day.isoweekday()]}"
    return ""


def _completion_blocker(
    task: TaskDefinition, state: TaskState | None, at: dt.datetime, timezone: str
) -> str:
    window = task_window(task, at, timezone)
    if state and earlier(window.window_id, state.window_id):
        return "window closed: the event falls before the task's current window"
    if state and task.max_completions and state.completions >= task.max_completions:
        return f"completed the maximum of {task.max_completions} times"
    current = in_window(task, state, window)
    if current and not task.repeatable and _completed_in_window(task, current):
        return "already completed" + ("" if task.cadence is Cadence.ONCE else " in this window")
    return ""


def _completed_in_window(task: TaskDefinition, state: TaskState) -> bool:
    return state.tiers_reached >= len(task.tiers)


@dataclass(frozen=True, slots=True)
class Advance:
    state: TaskState
    change: TaskChange
    # (run, tier) of every tier reached by this event.
    reached: tuple[tuple[int, int], ...]


def advance(task: TaskDefinition, state: TaskState | None, event: Event, timezone: str) -> Advance:
    """Add the event to the task's progress in the event's window; the caller checked
    blocker() and the conditions."""
    window = task_window(task, event.occurred_at, timezone)
    current = in_window(task, state, window) or TaskState(
        event.user_id, task.task_id, task.version, window.window_id,
        completions=state.completions if state else 0,
    )  # fmt: skip
    step = 1 if task.measure is Measure.COUNT else max(event.value, 0)
    progress, tiers, completions = (
        saturated(current.progress + step),
        current.tiers_reached,
        current.completions,
    )
    reached: list[tuple[int, int]] = []
    while tiers < len(task.tiers) and progress >= task.tiers[tiers].target:
        tiers += 1
        reached.append((completions + 1, tiers))
        if tiers == len(task.tiers):
            completions += 1
            limit = task.max_completions
            if task.repeatable and (not limit or completions < limit):
                progress, tiers = 0, 0  # a repeatable task starts over
            break
    new = replace(
        current, version=task.version, progress=progress, tiers_reached=tiers,
        completions=completions,
    )  # fmt: skip
    target = task.tiers[min(tiers, len(task.tiers) - 1)].target
    change = TaskChange(
        task.task_id, task.version, window.window_id, progress, target, tiers, window.end
    )
    return Advance(new, change, tuple(reached))
