"""What the rules handlers return: commands' results and the player's and operators' views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from service.app.rules.ports import EventStatus
from service.domain.rewards import Grant, Reward
from service.domain.rules.definitions import BadgeDefinition, Level, TaskDefinition
from service.domain.rules.state import BadgeState, Effects, Profile, TaskCompletion


@dataclass(frozen=True, slots=True)
class TrackEvent:
    user_id: str
    type: str
    idempotency_key: str
    value: int = 0
    attributes: Mapping[str, str] | None = None
    # When the event happened; now when None.
    occurred_at: dt.datetime | None = None
    # The user's IANA timezone; stored, and used for every local window. Empty keeps the
    # stored one (UTC for a new user).
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class Tracked:
    effects: Effects
    status: EventStatus
    # True when the idempotency key was seen before: the stored effects are returned.
    duplicate: bool


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task as the player sees it now."""

    task: TaskDefinition
    window_id: str
    window_end: dt.datetime | None
    progress: int
    # The next tier's target, or the last tier's once all are reached.
    target: int
    tiers_reached: int
    completions: int
    # Completed tiers whose rewards wait for ClaimTaskReward.
    claimable: int
    # Empty when the task can progress now, else why not ("prerequisite x not done").
    blocked: str


@dataclass(frozen=True, slots=True)
class Claimed:
    completions: tuple[TaskCompletion, ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True, slots=True)
class BadgeView:
    badge: BadgeDefinition
    state: BadgeState
    # Share of users holding the badge's first tier, 0.0 to 1.0.
    rarity: float
    # The threshold of the next tier, 0 once every tier is earned.
    next_threshold: int


@dataclass(frozen=True, slots=True)
class ProfileView:
    profile: Profile
    level: Level
    next_level: Level | None
    xp_to_next_level: int
    # Progress from this level's threshold to the next, 0 to 100.
    progress_percent: float


@dataclass(frozen=True, slots=True)
class DryRunReport:
    days: int
    events_evaluated: int
    users_evaluated: int
    # Users who would complete the task's last tier, or unlock the badge's first tier.
    users_completing: int
    # Total rewards the draft would grant, summed per kind and item code.
    grant_cost: tuple[Reward, ...]
