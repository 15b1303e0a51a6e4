"""In-memory adapters of the rules engine ports, behaving like their Postgres versions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from service.adapters.postgres import documents
from service.adapters.postgres.rules import codec as rule_codec
from service.app.rules.ports import EventStatus, StoredEvent, TaskList
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import (
    BadgeState,
    Counter,
    Event,
    Profile,
    Shared,
    TaskCompletion,
    TaskState,
    UserState,
)


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RuleStore:
    """What a committed transaction leaves behind; rows are immutable, so copies are shallow."""

    definitions: dict[tuple[DefinitionKind, str], list[Definition]] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    tasks: dict[tuple[str, str], TaskState] = field(default_factory=dict)
    badges: dict[tuple[str, str], BadgeState] = field(default_factory=dict)
    counters: dict[tuple[str, str], Counter] = field(default_factory=dict)
    completions: dict[tuple[str, str, str, int, int], TaskCompletion] = field(default_factory=dict)
    awarded: dict[str, int] = field(default_factory=dict)
    spent: dict[str, int] = field(default_factory=dict)
    # In arrival order, like the identity column of rule_events.
    events: dict[str, StoredEvent] = field(default_factory=dict)
    # Stamps created_at on definitions, as the database's now() does.
    now: Callable[[], dt.datetime] = _wall_clock

    def copy(self) -> RuleStore:
        return RuleStore(
            {key: list(versions) for key, versions in self.definitions.items()},
            dict(self.profiles),
            dict(self.tasks),
            dict(self.badges),
            dict(self.counters),
            dict(self.completions),
            dict(self.awarded),
            dict(self.spent),
            dict(self.events),
            self.now,
        )


class FakeDefinitions:
    def __init__(self, store: RuleStore) -> None:
        self.store = store

    async def all_current(self) -> list[Definition]:
        return [versions[-1] for _, versions in sorted(self.store.definitions.items())]

    async def get(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        versions = self.store.definitions.get((kind, definition_id))
        return versions[-1] if versions else None

    async def archive(self, kind: DefinitionKind, definition_id: str) -> Definition | None:
        current = await self.get(kind, definition_id)
        if current is None or current.archived:
            return current
        return await self.add(replace(current, archived=True))

    async def add(self, definition: Definition) -> Definition:
        versions = self.store.definitions.setdefault(
            (definition.KIND, definition.definition_id), []
        )
        # Through the codec, as Postgres stores it: what cannot be stored fails here too.
        row = {
            "kind": str(definition.KIND),
            "config": json.loads(rule_codec.definition_to_json(definition)),
            "version": len(versions) + 1,
            "archived": definition.archived,
            "created_at": self.store.now(),
        }
        stored = rule_codec.definition_from_row(row)
        versions.append(stored)
        return stored

    async def list(self, kind: DefinitionKind) -> list[Definition]:
        keys = sorted(key for key in self.store.definitions if key[0] == kind)
        return [self.store.definitions[key][-1] for key in keys]


class FakeRuleState:
    def __init__(self, store: RuleStore) -> None:
        self.store = store

    async def lock_profile(self, user_id: str, timezone: str) -> Profile:
        profile = self.store.profiles.get(user_id, Profile(user_id))
        if timezone:
            profile = profile.with_timezone(timezone)
        self.store.profiles[user_id] = profile
        return profile

    async def lock_profiles(self, timezones: Mapping[str, str]) -> dict[str, Profile]:
        return {u: await self.lock_profile(u, tz) for u, tz in sorted(timezones.items())}

    async def get_profile(self, user_id: str) -> Profile | None:
        return self.store.profiles.get(user_id)

    async def task_list(self, user_id: str) -> TaskList:
        return TaskList(
            self.store.profiles.get(user_id) or Profile(user_id),
            {t: s for (u, t), s in self.store.tasks.items() if u == user_id},
            await self.unclaimed_counts(user_id),
        )

    async def save_progress(self, profiles: Sequence[Profile]) -> None:
        for p in profiles:
            stored = self.store.profiles[p.user_id]
            self.store.profiles[p.user_id] = replace(
                stored, timezone=p.timezone, timezone_set=p.timezone_set, xp=p.xp, level=p.level
            )

    async def save_profile(self, profile: Profile) -> None:
        self.store.profiles[profile.user_id] = profile

    async def load(
        self, profile: Profile, velocity_types: Sequence[str], since: dt.datetime
    ) -> UserState:
        user_id = profile.user_id
        recent = [
            s.event.type
            for s in self.store.events.values()
            if s.event.user_id == user_id and s.received_at >= since
        ]
        return UserState(
            profile=profile,
            tasks={t: s for (u, t), s in self.store.tasks.items() if u == user_id},
            badges={b: s for (u, b), s in self.store.badges.items() if u == user_id},
            counters={k: c for (u, k), c in self.store.counters.items() if u == user_id},
            recent_events={t: recent.count(t) for t in velocity_types},
        )

    async def load_many(
        self, profiles: Sequence[Profile], velocity_types: Sequence[str], since: dt.datetime
    ) -> dict[str, UserState]:
        return {p.user_id: await self.load(p, velocity_types, since) for p in profiles}

    async def save(
        self, states: Sequence[UserState], completions: Sequence[TaskCompletion]
    ) -> None:
        for state in states:
            for task in state.tasks.values():
                self.store.tasks[(task.user_id, task.task_id)] = task
            for badge in state.badges.values():
                self.store.badges[(badge.user_id, badge.badge_id)] = documents.in_utc(badge)
            for counter in state.counters.values():
                self.store.counters[(state.profile.user_id, counter.key)] = counter
        for completion in completions:
            key = (
                completion.user_id, completion.task_id, completion.window_id, completion.run,
                completion.tier,
            )  # fmt: skip
            # The primary key of task_completions: a completion is never written twice.
            assert key not in self.store.completions, f"duplicate completion {key}"
            self.store.completions[key] = documents.in_utc(completion)

    async def lock_shared(self, supply: Mapping[str, int], budgets: Mapping[str, int]) -> Shared:
        awarded, spent = self.store.awarded, self.store.spent
        return Shared(
            supply_left={b: max(0, n - awarded.setdefault(b, 0)) for b, n in supply.items()},
            budget_left={c: max(0, n - spent.setdefault(c, 0)) for c, n in budgets.items()},
        )

    async def consume_shared(self, supply: Sequence[str], budgets: Mapping[str, int]) -> None:
        for badge_id in supply:
            self.store.awarded[badge_id] = self.store.awarded.get(badge_id, 0) + 1
        for cap_id, amount in budgets.items():
            self.store.spent[cap_id] = self.store.spent.get(cap_id, 0) + amount

    def _of(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        found = (
            c for (u, t, *_), c in self.store.completions.items() if (u, t) == (user_id, task_id)
        )
        return sorted(found, key=lambda c: (c.completed_at, c.run, c.tier))

    async def completions(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        return self._of(user_id, task_id)

    async def lock_unclaimed(self, user_id: str, task_id: str) -> list[TaskCompletion]:
        return [c for c in self._of(user_id, task_id) if c.claimed_at is None]

    async def mark_claimed(self, completions: Sequence[TaskCompletion], at: dt.datetime) -> None:
        for c in completions:
            key = (c.user_id, c.task_id, c.window_id, c.run, c.tier)
            stored = self.store.completions.get(key)
            # Like the update's `claimed_at is null`: the first claim's instant stays.
            if stored is not None and stored.claimed_at is None:
                self.store.completions[key] = replace(stored, claimed_at=at.astimezone(dt.UTC))

    async def unclaimed_counts(self, user_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (u, t, *_), c in self.store.completions.items():
            if u == user_id and c.claimed_at is None:
                counts[t] = counts.get(t, 0) + 1
        return counts

    async def profiles(self, user_ids: Sequence[str]) -> dict[str, Profile]:
        return {u: self.store.profiles[u] for u in user_ids if u in self.store.profiles}

    async def badge_holders(self) -> dict[str, int]:
        holders: dict[str, int] = {}
        for state in self.store.badges.values():
            if state.tier > 0:
                holders[state.badge_id] = holders.get(state.badge_id, 0) + 1
        return holders

    async def user_count(self) -> int:
        return len(self.store.profiles)

    async def badge_states(self, user_id: str) -> dict[str, BadgeState]:
        return {b: s for (u, b), s in self.store.badges.items() if u == user_id}


class FakeEvents:
    def __init__(self, store: RuleStore) -> None:
        self.store = store

    async def get_many(self, idempotency_keys: Sequence[str]) -> dict[str, StoredEvent]:
        events = self.store.events
        return {key: events[key] for key in idempotency_keys if key in events}

    async def add_many(self, stored: Sequence[StoredEvent]) -> set[str]:
        return {s.event.idempotency_key for s in stored if self._add(s)}

    def _add(self, stored: StoredEvent) -> bool:
        key = stored.event.idempotency_key
        if key in self.store.events:
            return False
        # Through the codec, as Postgres stores the effects; attributes become a plain dict.
        effects = rule_codec.effects_from_json(
            json.loads(rule_codec.effects_to_json(stored.effects))
        )
        event = replace(stored.event, attributes=dict(stored.event.attributes))
        self.store.events[key] = documents.in_utc(replace(stored, event=event, effects=effects))
        return True

    async def flagged(
        self, user_id: str, before_id: int | None, limit: int
    ) -> list[tuple[int, StoredEvent]]:
        numbered = list(enumerate(self.store.events.values(), 1))
        found = [
            (n, s)
            for n, s in reversed(numbered)
            if s.status is EventStatus.REJECTED
            and (not user_id or s.event.user_id == user_id)
            and (before_id is None or n < before_id)
        ]
        return found[:limit]

    async def latest(self, user_id: str, event_type: str) -> StoredEvent | None:
        found = [
            s
            for s in self.store.events.values()
            if (s.event.user_id, s.event.type) == (user_id, event_type)
        ]
        # max() keeps the first of equals; reversed, that is the last to arrive.
        return max(reversed(found), key=lambda s: s.received_at, default=None)

    async def replay(self, event_types: Sequence[str], since: dt.datetime) -> AsyncIterator[Event]:
        applied = [
            (s.event, arrival)
            for arrival, s in enumerate(self.store.events.values())
            if s.status is EventStatus.APPLIED
            and s.event.type in event_types
            and s.event.occurred_at >= since
        ]
        applied.sort(key=lambda pair: (pair[0].user_id, pair[0].occurred_at, pair[1]))
        for event, _ in applied:
            yield event
