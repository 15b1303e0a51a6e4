"""Ports and values of the league handlers: definitions, tiers, cohorts, seasons, results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from service.domain.leagues import LeagueDefinition, Result


@dataclass(frozen=True, slots=True)
class Member:
    """A member's tier, and when they were first placed in the league."""

    tier_id: str
    joined_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Placement:
    """The cohort (a partition of the league's board) a member plays a season in."""

    tier_id: str
    cohort: str


@dataclass(frozen=True, slots=True)
class SeasonKey:
    league_id: str
    period_id: str
    period_start: dt.datetime


@dataclass(frozen=True, slots=True)
class PastSeason:
    """One row of a member's league history."""

    period_id: str
    period_start: dt.datetime
    result: Result


class LeagueRepository(Protocol):
    """League definitions and the state of their seasons."""

    async def all_current(self) -> list[LeagueDefinition]: ...

    async def get(self, league_id: str) -> LeagueDefinition | None: ...

    async def add(self, league: LeagueDefinition) -> LeagueDefinition:
        """Store the next version; return it with version and creation time."""
        ...

    async def members(self, league_id: str, user_ids: Iterable[str]) -> dict[str, Member]: ...

    async def placements(
        self, league_id: str, period_id: str, user_ids: Iterable[str]
    ) -> dict[str, Placement]: ...

    async def lock_forming(self, league_id: str, period_id: str) -> None:
        """Serialise placements into the season's cohorts until the transaction ends."""
        ...

    async def place(
        self, season: SeasonKey, user_id: str, tier_id: str, size: int, at: dt.datetime
    ) -> str:
        """Put the member in the tier's open cohort (a new one when it is full), make them a
        member of the league when they are not; return the cohort. Under lock_forming."""
        ...

    async def cohorts(self, league_id: str, period_id: str) -> list[tuple[str, str]]:
        """(tier id, cohort) of every cohort of the season."""
        ...

    async def season_placements(self, league_id: str, period_id: str) -> dict[str, Placement]: ...

    async def idle_members(
        self, league_id: str, period_id: str, joined_before: dt.datetime
    ) -> dict[str, str]:
        """Tier of every member joined before the instant who was not placed in the season."""
        ...

    async def any_member_before(self, league_id: str, instant: dt.datetime) -> bool: ...

    async def lock_season(self, league_id: str, period_id: str) -> None:
        """Serialise ending the season until the transaction ends."""
        ...

    async def ended(self, league_id: str, period_id: str) -> bool: ...

    async def end(
        self, season: SeasonKey, results: Sequence[Result], grants: int, at: dt.datetime
    ) -> None:
        """Store the results, move every member to their next tier, mark the season ended."""
        ...

    async def set_tiers(self, league_id: str, tiers: Mapping[str, str]) -> None: ...

    async def history(
        self, league_id: str, user_id: str, below: dt.datetime | None, limit: int
    ) -> list[PastSeason]:
        """The member's ended seasons, newest first, starting before `below` when given."""
        ...
