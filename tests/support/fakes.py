"""In-memory adapters of the application ports, for fast handler tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Self

from service.app.audit import Actor, AuditEntry, AuditFilter, Change
from service.app.boards.ports import BoardRepository, ExclusionRepository, ScoreRepository
from service.app.catalog import Catalog
from service.app.check_ins.programs import Programs, get_program
from service.app.goals.ports import GoalRepository
from service.app.leagues.ports import LeagueRepository
from service.app.ports import StoredStreak
from service.app.privacy.ports import PrivacyRepository
from service.app.social.ports import AssistRepository, DuelRepository
from service.domain.check_in import (
    DEFAULT_PROGRAM,
    CheckInOutcome,
    CheckInProgram,
    DayRecord,
    StreakState,
)
from service.domain.rewards import Grant
from tests.support.rule_fakes import FakeDefinitions, FakeEvents, FakeRuleState, RuleStore


@dataclass
class Store:
    """What a committed transaction leaves behind."""

    streaks: dict[str, StreakState] = field(default_factory=dict)
    days: dict[tuple[str, dt.date], DayRecord] = field(default_factory=dict)
    programs: list[CheckInProgram] = field(default_factory=list)
    outbox: dict[str, Grant] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    commits: int = 0
    rules: RuleStore = field(default_factory=RuleStore)


class FakeCheckIns:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def lock_streak(self, user_id: str) -> StoredStreak:
        self.store.streaks.setdefault(user_id, StreakState(user_id=user_id))
        return await self.get_streak(user_id)

    async def get_streak(self, user_id: str) -> StoredStreak:
        profile = self.store.rules.profiles.get(user_id)
        return StoredStreak(
            self.store.streaks.get(user_id, StreakState(user_id=user_id)),
            profile.stored_timezone if profile else "",
        )

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None:
        return self.store.days.get((user_id, day))

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        found = (r for (u, d), r in self.store.days.items() if u == user_id and first <= d <= last)
        return sorted(found, key=lambda r: r.day)

    async def save(self, outcome: CheckInOutcome) -> None:
        for record in (*outcome.frozen, outcome.record):
            key = (record.user_id, record.day)
            assert key not in self.store.days, f"duplicate day {key}"
            self.store.days[key] = record
        for record in outcome.renumbered:
            self.store.days[(record.user_id, record.day)] = record
        self.store.streaks[outcome.state.user_id] = outcome.state
        for grant in outcome.grants:
            self.store.outbox.setdefault(grant.idempotency_key, grant)


class FakePrograms:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def current(self) -> CheckInProgram:
        return self.store.programs[-1] if self.store.programs else DEFAULT_PROGRAM

    async def add(self, program: CheckInProgram) -> CheckInProgram:
        stored = replace(program, version=len(self.store.programs) + 1)
        self.store.programs.append(stored)
        return stored


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, grants: Sequence[Grant]) -> None:
        for grant in grants:
            self.store.outbox.setdefault(grant.idempotency_key, grant)


class FakeAudit:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, at: dt.datetime, actor: Actor, change: Change) -> None:
        entries = self._store.audit
        entries.append(AuditEntry(len(entries) + 1, at, actor.subject, actor.request_id, change))

    async def list(self, where: AuditFilter, before_id: int | None, limit: int) -> list[AuditEntry]:
        newest = sorted(self._store.audit, key=lambda e: -e.id)
        return [e for e in newest if before_id is None or e.id < before_id][:limit]


class FakeUnitOfWork:
    """Works on a copy of the store; commit() publishes the copy, leaving discards it."""

    def __init__(self, store: Store) -> None:
        self.committed = store

    async def __aenter__(self) -> Self:
        self.pending = Store(
            dict(self.committed.streaks),
            dict(self.committed.days),
            list(self.committed.programs),
            dict(self.committed.outbox),
            list(self.committed.audit),
            rules=self.committed.rules.copy(),
        )
        self.check_ins = FakeCheckIns(self.pending)
        self.programs = FakePrograms(self.pending)
        self.outbox = FakeOutbox(self.pending)
        self.definitions = FakeDefinitions(self.pending.rules)
        self.rule_state = FakeRuleState(self.pending.rules)
        self.events = FakeEvents(self.pending.rules)
        self.audit = FakeAudit(self.pending)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self.pending

    @property
    def boards(self) -> BoardRepository:
        raise AssertionError("check-in handlers never read board definitions")

    @property
    def scores(self) -> ScoreRepository:
        raise AssertionError("check-in handlers never read scores")

    @property
    def exclusions(self) -> ExclusionRepository:
        raise AssertionError("check-in handlers never read board exclusions")

    @property
    def privacy(self) -> PrivacyRepository:
        raise AssertionError("check-in handlers never read a user's whole data")

    @property
    def goals(self) -> GoalRepository:
        raise AssertionError("check-in handlers without goals never read goal rows")

    @property
    def duels(self) -> DuelRepository:
        raise AssertionError("check-in handlers never read duels")

    @property
    def assists(self) -> AssistRepository:
        raise AssertionError("check-in handlers never read assists")

    @property
    def leagues(self) -> LeagueRepository:
        raise AssertionError("check-in handlers never read leagues")

    async def commit(self) -> None:
        self.committed.streaks = self.pending.streaks
        self.committed.days = self.pending.days
        self.committed.programs = self.pending.programs
        self.committed.outbox = self.pending.outbox
        self.committed.audit = self.pending.audit
        self.committed.rules = self.pending.rules
        self.committed.commits += 1


def fake_programs(store: Store) -> Programs:
    """The program catalog over `store`: it reads the newest stored version."""

    async def no_one() -> None:
        return None

    return Catalog(lambda: get_program(uow=FakeUnitOfWork(store)), no_one)
