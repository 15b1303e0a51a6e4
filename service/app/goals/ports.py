"""Ports of goals: definitions, totals, contributions and teams in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.domain.goals import Credit, GoalDefinition, GoalMilestone


@dataclass(frozen=True, slots=True)
class Team:
    team_id: str
    name: str
    created_at: dt.datetime
    members: int = 0


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    user_id: str
    joined_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Standing:
    """A goal's running total and one user's part in it, as stored."""

    goal: GoalDefinition
    seq: int
    total: int
    contributors: int
    mine: int
    # Whether the user is a member of the goal's team (always true for community goals).
    member: bool


class GoalRepository(Protocol):
    """Goal rows; writes take row locks in one order: contributions, then totals."""

    async def lock_definition(self, goal_id: str) -> GoalDefinition | None:
        """The current definition, locked until the transaction ends."""
        ...

    async def save_definition(self, goal: GoalDefinition) -> None:
        """Store `goal` (with its version) as the current one; a first one starts at 0."""
        ...

    async def open_definitions(self, ends_after: dt.datetime) -> list[GoalDefinition]: ...

    async def get_definition(self, goal_id: str) -> GoalDefinition | None: ...

    async def definitions(
        self, before_seq: int | None, limit: int
    ) -> list[tuple[int, GoalDefinition]]:
        """(seq, definition) of every goal with seq below `before_seq`, newest first."""
        ...

    async def credit(
        self, goal_id: str, amounts: Mapping[str, int], at: dt.datetime
    ) -> list[Credit]:
        """Add each user's amount to their contribution, in user order."""
        ...

    async def add_to_total(self, goal_id: str, amount: int, contributors: int) -> tuple[int, int]:
        """Add to the goal's total under its row lock; the total before and after."""
        ...

    async def grant_qualified(
        self, goal: GoalDefinition, milestone: GoalMilestone, report: int
    ) -> list[tuple[str, int]]:
        """Queue the milestone's grants for every contributor at or above the minimum (and,
        for a team goal, still a member), in one statement; up to `report` of the users
        paid now, each with their contribution."""
        ...

    async def memberships(
        self, team_ids: Iterable[str], user_ids: Iterable[str]
    ) -> set[tuple[str, str]]:
        """The (team, user) pairs among these that are memberships."""
        ...

    async def create_team(self, team: Team) -> tuple[Team, bool]:
        """Create the team (locked), or return the stored one; whether it was created."""
        ...

    async def get_team(self, team_id: str, *, lock: bool = False) -> Team | None:
        """The team with its member count; with `lock`, locked until the transaction ends."""
        ...

    async def add_members(self, team_id: str, user_ids: Sequence[str], at: dt.datetime) -> int: ...

    async def remove_members(self, team_id: str, user_ids: Sequence[str]) -> int: ...

    async def members(self, team_id: str, before_id: int | None, limit: int) -> list[Member]:
        """Members with id below `before_id`, newest first."""
        ...

    async def standing(self, goal_id: str, user_id: str) -> Standing | None: ...

    async def standings(
        self, user_id: str, ends_after: dt.datetime | None, before_seq: int | None, limit: int
    ) -> list[Standing]:
        """Community goals and the goals of the user's teams, newest first, ending after
        `ends_after` when given."""
        ...
