"""Ports the handlers depend on; adapters implement them on Postgres and in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self

from service.app.audit import AuditRepository
from service.app.boards.ports import BoardRepository, ExclusionRepository, ScoreRepository
from service.app.goals.ports import GoalRepository
from service.app.leagues.ports import LeagueRepository
from service.app.privacy.ports import PrivacyRepository
from service.app.rules.ports import DefinitionRepository, EventRepository, RuleStateRepository
from service.app.social.ports import AssistRepository, DuelRepository
from service.domain.check_in import CheckInProgram, DayRecord, StreakState
from service.domain.rewards import Grant


class Clock(Protocol):
    """The source of the current instant; always timezone-aware UTC."""

    def now(self) -> dt.datetime: ...


class CheckInRepository(Protocol):
    """Streak state and covered days of users."""

    async def lock_streak(self, user_id: str) -> StreakState:
        """The user's state, locked until the transaction ends; blank for a new user."""
        ...

    async def get_streak(self, user_id: str) -> StreakState:
        """The user's state without locking; blank for a new user."""
        ...

    async def save_streak(self, state: StreakState) -> None: ...

    async def get_day(self, user_id: str, day: dt.date) -> DayRecord | None: ...

    async def days_between(self, user_id: str, first: dt.date, last: dt.date) -> list[DayRecord]:
        """Covered days from `first` to `last`, both included, in day order."""
        ...

    async def add_days(self, records: Sequence[DayRecord]) -> None: ...

    async def replace_days(self, records: Sequence[DayRecord]) -> None:
        """Overwrite existing records (their streak numbering changed)."""
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

    async def add(self, grants: Sequence[Grant], check_in: DayRecord | None = None) -> None:
        """Queue grants; a grant whose idempotency key is already queued is ignored.

        `check_in`, for grants a check-in caused: that check-in as it stands now, kept with
        them as their cause, since later make-ups renumber the day's streak."""
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
