"""What the rules engine knows about one user, and what one event changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from service.domain.rewards import Grant, Reward


@dataclass(frozen=True, slots=True)
class Event:
    idempotency_key: str
    user_id: str
    type: str
    value: int
    attributes: Mapping[str, str]
    occurred_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    # The user's one IANA timezone, used by every feature; UTC until a call sets one.
    timezone: str = "UTC"
    segments: tuple[str, ...] = ()
    xp: int = 0
    level: int = 1
    # Whether a call ever set the timezone (else it is the UTC default, and check-ins that
    # pass none are refused).
    timezone_set: bool = False

    def with_timezone(self, timezone: str) -> Profile:
        return replace(self, timezone=timezone, timezone_set=True)

    @property
    def stored_timezone(self) -> str:
        """The timezone a call set, or "" when none ever did."""
        return self.timezone if self.timezone_set else ""


@dataclass(frozen=True, slots=True)
class TaskState:
    """A user's progress on one task in its current window."""

    user_id: str
    task_id: str
    version: int
    window_id: str
    progress: int = 0
    # Tiers reached in the current run; a run ends with the last tier.
    tiers_reached: int = 0
    # Runs completed over the task's life.
    completions: int = 0
    # A distinct task's values counted in the current run, sorted; empty once it ends.
    distinct: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskCompletion:
    """A tier reached in a window; `run` numbers the user's completed runs from 1.

    A run left unfinished when its window ends keeps its number in the next window, so the
    window is part of the identity.
    """

    user_id: str
    task_id: str
    version: int
    run: int
    tier: int
    window_id: str
    rewards: tuple[Reward, ...]
    completed_at: dt.datetime
    event_key: str
    claimed_at: dt.datetime | None = None

    @property
    def ref(self) -> str:
        return (
            f"task:{self.task_id}:{self.user_id}:{self.window_id}:run-{self.run}:tier-{self.tier}"
        )


@dataclass(frozen=True, slots=True)
class BadgeState:
    user_id: str
    badge_id: str
    version: int
    progress: int = 0
    # Tiers earned, 0 while locked.
    tier: int = 0
    earned_at: dt.datetime | None = None
    # A distinct badge's values counted, sorted; empty once its last tier is earned.
    distinct: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Counter:
    """An amount within one window, such as points from a task today; resets with the window."""

    key: str
    window_id: str
    amount: int = 0


@dataclass(frozen=True, slots=True)
class UserState:
    profile: Profile
    tasks: Mapping[str, TaskState] = field(default_factory=dict)
    badges: Mapping[str, BadgeState] = field(default_factory=dict)
    counters: Mapping[str, Counter] = field(default_factory=dict)
    # Events of each type the user sent within the last minute, for velocity caps.
    recent_events: Mapping[str, int] = field(default_factory=dict)

    def after(self, outcome: Outcome) -> UserState:
        """This state with what an applied outcome changed."""
        return UserState(
            outcome.profile,
            tasks={**self.tasks, **{t.task_id: t for t in outcome.tasks}},
            badges={**self.badges, **{b.badge_id: b for b in outcome.badges}},
            counters={**self.counters, **{c.key: c for c in outcome.counters}},
            recent_events=self.recent_events,
        )

    def changed_since(self, before: UserState) -> UserState:
        """Only the task states, badge states and counters that differ from `before`."""
        return UserState(
            self.profile,
            tasks={k: v for k, v in self.tasks.items() if before.tasks.get(k) != v},
            badges={k: v for k, v in self.badges.items() if before.badges.get(k) != v},
            counters={k: v for k, v in self.counters.items() if before.counters.get(k) != v},
        )

    def seen(self, event_type: str) -> UserState:
        """This state once the user sent one more event of the type (applied or not)."""
        if event_type not in self.recent_events:
            return self
        recent = {**self.recent_events, event_type: self.recent_events[event_type] + 1}
        return replace(self, recent_events=recent)


@dataclass(frozen=True, slots=True)
class Shared:
    """Limits shared by all users, read under lock: badge supply and campaign budgets left."""

    supply_left: Mapping[str, int] = field(default_factory=dict)
    budget_left: Mapping[str, int] = field(default_factory=dict)

    def taking(self, supply: Sequence[str], budgets: Mapping[str, int]) -> Shared:
        """What is left once an outcome took one of each badge and the budget amounts."""
        supply_left, budget_left = dict(self.supply_left), dict(self.budget_left)
        for badge_id in supply:
            supply_left[badge_id] -= 1
        for cap_id, amount in budgets.items():
            budget_left[cap_id] -= amount
        return Shared(supply_left, budget_left)


@dataclass(frozen=True, slots=True)
class TaskChange:
    task_id: str
    version: int
    window_id: str
    progress: int
    # The target of the next tier, or of the last one once all are reached.
    target: int
    tiers_reached: int
    window_end: dt.datetime | None


@dataclass(frozen=True, slots=True)
class BadgeUnlock:
    badge_id: str
    version: int
    tier: int
    tier_name: str


@dataclass(frozen=True, slots=True)
class LevelUp:
    level: int
    name: str


@dataclass(frozen=True, slots=True)
class Effects:
    """What an event did, returned to the caller and stored for a repeated request."""

    task_changes: tuple[TaskChange, ...] = ()
    completions: tuple[TaskCompletion, ...] = ()
    badges: tuple[BadgeUnlock, ...] = ()
    level_ups: tuple[LevelUp, ...] = ()
    board_submissions: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()
    # Why the event was not applied ("cap:daily-points"); empty when it was.
    rejected: str = ""
    # What an applied event did not do that its sender may not expect ("not scored on ...").
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """Effects plus the state to write; `supply` and `budgets` are what they consume."""

    effects: Effects
    profile: Profile
    tasks: tuple[TaskState, ...] = ()
    badges: tuple[BadgeState, ...] = ()
    counters: tuple[Counter, ...] = ()
    supply: tuple[str, ...] = ()
    budgets: Mapping[str, int] = field(default_factory=dict)
