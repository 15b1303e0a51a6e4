"""Ports of the rules engine: definitions, per-user rule state and stored events."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.domain.rules.checks import DefinitionKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import (
    BadgeState,
    Effects,
    Event,
    Profile,
    Shared,
    TaskCompletion,
    TaskState,
    UserState,
)


@dataclass(frozen=True, slots=True)
class TaskList:
    """A user's profile, task states, and completed tiers waiting to be claimed per task."""

    profile: Profile
    tasks: Mapping[str, TaskState]
    unclaimed: Mapping[str, int]


class EventStatus(enum.StrEnum):
    APPLIED = "applied"
    # Broke a cap or velocity limit: stored with the reason, flagged for review, not applied.
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: Event
    received_at: dt.datetime
    status: EventStatus
    effects: Effects


class DefinitionRepository(Protocol):
    """Versions of every definition kind."""

    async def all_current(self) -> list[Definition]:
        """The newest version of every definition, archived ones included."""
        ...

    async def get(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        """The newest version, or None when the id was never defined."""
        ...

    async def list(self, kind: DefinitionKind) -> list[Definition]:
        """The newest version of each definition of `kind`, in id order, archived included."""
        ...

    async def add(self, definition: Definition) -> Definition:
        """Store as the next version of its id; return it with version and creation time."""
        ...

    async def archive(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        """Store an archived copy of the newest version, read under the id's lock; return
        it, the newest version when already archived, or None for an unknown id."""
        ...


class RuleStateRepository(Protocol):
    """Profiles, task and badge progress, counters and the shared supply and budgets."""

    async def lock_profile(self, user_id: str, timezone: str) -> Profile:
        """The profile, locked until the transaction ends; a new user is created first.

        A non-empty `timezone` replaces the stored one.
        """
        ...

    async def lock_profiles(self, timezones: Mapping[str, str]) -> dict[str, Profile]:
        """lock_profile for every user id in `timezones`, locked in id order so that
        concurrent transactions cannot deadlock."""
        ...

    async def get_profile(self, user_id: str) -> Profile | None: ...

    async def task_list(self, user_id: str) -> TaskList:
        """What a player's task list shows, in one round trip: a blank profile for a user
        never seen."""
        ...

    async def save_profile(self, profile: Profile) -> None: ...

    async def save_progress(self, profiles: Sequence[Profile]) -> None:
        """Store the timezone, XP and level of each (locked) profile."""
        ...

    async def load(
        self, profile: Profile, velocity_types: Sequence[str], since: dt.datetime
    ) -> UserState:
        """Every task state, badge state and counter of the user, plus how many events of
        each of `velocity_types` the user sent at or after `since`."""
        ...

    async def load_many(
        self, profiles: Sequence[Profile], velocity_types: Sequence[str], since: dt.datetime
    ) -> dict[str, UserState]:
        """load for each profile, in one round trip."""
        ...

    async def save(
        self, states: Sequence[UserState], completions: Sequence[TaskCompletion]
    ) -> None:
        """Upsert the task states, badge states and counters the states hold (only what
        changed); insert the completions."""
        ...

    async def lock_shared(self, supply: Mapping[str, int], budgets: Mapping[str, int]) -> Shared:
        """Lock supply rows (badge id -> supply) and budget rows (cap id -> limit) and
        return what is left of each."""
        ...

    async def consume_shared(self, supply: Sequence[str], budgets: Mapping[str, int]) -> None:
        """Take one from each badge's supply and the amounts from the budgets."""
        ...

    async def completions(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        """The user's completions of the task, oldest first."""
        ...

    async def lock_unclaimed(self, user_id: str, task_id: str) -> list[TaskCompletion]: ...

    async def mark_claimed(
        self, completions: Sequence[TaskCompletion], at: dt.datetime
    ) -> None: ...

    async def unclaimed_counts(self, user_id: str) -> dict[str, int]:
        """Completed tiers waiting to be claimed, per task."""
        ...

    async def profiles(self, user_ids: Sequence[str]) -> dict[str, Profile]:
        """The stored profiles of those users; unknown users are left out."""
        ...

    async def badge_holders(self) -> dict[str, int]:
        """How many users hold at least the first tier of each badge."""
        ...

    async def user_count(self) -> int:
        """Users with a profile: the base of a badge's rarity."""
        ...

    async def badge_states(self, user_id: str) -> dict[str, BadgeState]: ...


class EventRepository(Protocol):
    """Events as received, with what they did: the idempotency record of TrackEvent."""

    async def get_many(self, idempotency_keys: Sequence[str]) -> dict[str, StoredEvent]:
        """The stored events among those keys, by key."""
        ...

    async def add_many(self, stored: Sequence[StoredEvent]) -> set[str]:
        """Store the events; return the keys stored, leaving out keys already taken."""
        ...

    async def flagged(
        self, user_id: str, before_id: int | None, limit: int
    ) -> list[tuple[int, StoredEvent]]:
        """Events flagged for review (rejected), newest first, with their ids; of one user
        when `user_id` is not empty, and below `before_id` when it is given."""
        ...

    async def latest(self, user_id: str, event_type: str) -> StoredEvent | None:
        """The user's most recently received event of the type."""
        ...

    def replay(self, event_types: Sequence[str], since: dt.datetime) -> AsyncIterator[Event]:
        """Applied events of the given types that occurred at or after `since`, by user and
        then by occurrence."""
        ...
