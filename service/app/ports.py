"""Ports the handlers depend on; adapters implement them on Postgres and in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from service.app.audit import AuditRepository
from service.app.boards.ports import BoardRepository, ExclusionRepository, ScoreRepository
from service.app.goals.ports import GoalRepository
from service.app.leagues.ports import LeagueRepository
from service.app.privacy.ports import PrivacyRepository
from service.app.rules.ports import DefinitionRepository, EventRepository, RuleStateRepository
from service.app.social.ports import AssistRepository, DuelRepository
from service.domain.check_in import CheckInOutcome, CheckInProgram, DayRecord, StreakState
from service.domain.rewards import Grant


class Clock(Protocol):
    """The source of the current instant; always timezone-aware UTC."""

    def now(self) -> dt.datetime: ...


@dataclass(frozen=True, slots=True)
class StoredStreak:
    """A user's streak state, and the timezone the user's profile stores ("" when no call
    ever set one)."""

    state: StreakState
    profile_timezone: str


class CheckInRepository(Protocol):
    """Streak state and covered days of users."""

    async def lock_streak(self, user_id: str) -> StoredStreak:
        """The user's state, locked until the transaction ends; blank for a new user."""
        ...

    async def get_streak(self, user_id: str) -> StoredStreak:
        """The user's state without locking; blank for a new user."""
        ...

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None: ...

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        """Covered days from `first` to `last`, both included, in day order."""
        ...

    async def save(self, outcome: CheckInOutcome) -> None:
        """Store what an accepted check-in or make-up changed, in one round trip: its new
        days, the days whose streak numbering changed, the streak, and its grants (with the
        check-in as their cause; a grant whose key is queued already is ignored)."""
        ...


class ProgramRepository(Protocol):
    """Versions of the check-in program."""

    async def current(self) -> CheckInProgram:
        """The newest version, or the built-in default before any was stored."""
        ...

    async def add(self, program: CheckInProgram) -> CheckInProgram:
        """Store `program` as the next version; return it with its version and creation time."""
        ...


class Outbox(Protocol):
    """Grants waiting for delivery to the loyalty system."""

    async def add(self, grants: Sequence[Grant]) -> None:
        """Queue grants; a grant whose idempotency key is already queued is ignored."""
        ...


class UnitOfWork(Protocol):
    """One transaction: leaving the block without commit() rolls everything back.

    A unit of work may be entered again after it is left; each entry is a new transaction.
    """

    @property
    def check_ins(self) -> CheckInRepository: ...

    @property
    def programs(self) -> ProgramRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def boards(self) -> BoardRepository: ...

    @property
    def scores(self) -> ScoreRepository: ...

    @property
    def exclusions(self) -> ExclusionRepository: ...

    @property
    def definitions(self) -> DefinitionRepository: ...

    @property
    def rule_state(self) -> RuleStateRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def privacy(self) -> PrivacyRepository: ...

    @property
    def goals(self) -> GoalRepository: ...

    @property
    def duels(self) -> DuelRepository: ...

    @property
    def assists(self) -> AssistRepository: ...

    @property
    def leagues(self) -> LeagueRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
