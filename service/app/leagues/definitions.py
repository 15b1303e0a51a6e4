"""League definitions: admin handlers and the in-memory catalog the hot paths read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.boards.scores import Boards
from service.app.catalog import Catalog
from service.app.ports import Clock, UnitOfWork
from service.domain.boards import BoardDefinition, PeriodKind
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from service.domain.leagues import LeagueDefinition, check_tiers_kept
from service.domain.validation import check_id

# A league's seasons are its board's periods: periods that repeat.
SEASON_PERIODS = (PeriodKind.DAILY, PeriodKind.WEEKLY, PeriodKind.MONTHLY)


class LeagueCatalog(Catalog[dict[str, LeagueDefinition]]):
    """The current version of every league, by id."""

    def __init__(
        self,
        load: Callable[[], Awaitable[list[LeagueDefinition]]],
        notify: Callable[[], Awaitable[None]],
        *,
        max_age: float = 30.0,
    ) -> None:
        async def by_id() -> dict[str, LeagueDefinition]:
            return {league.league_id: league for league in await load()}

        super().__init__(by_id, notify, max_age=max_age)

    async def get(self, league_id: str) -> LeagueDefinition:
        league = (await self.current()).get(league_id)
        if league is None:
            raise NotFound("league", league_id)
        return league

    async def by_board(self) -> dict[str, LeagueDefinition]:
        """Each league by the id of the board its cohorts play on."""
        return {league.board_id: league for league in (await self.current()).values()}


@dataclass(frozen=True, slots=True)
class Leagues:
    """What the league handlers need besides a unit of work."""

    catalog: LeagueCatalog
    boards: Boards

    @property
    def clock(self) -> Clock:
        return self.boards.clock


async def load_leagues(uow: UnitOfWork) -> list[LeagueDefinition]:
    async with uow:
        return await uow.leagues.all_current()


def check_board(league: LeagueDefinition, board: BoardDefinition) -> None:
    """The board a league plays on: its periods are the seasons, its partitions the cohorts."""
    if board.period not in SEASON_PERIODS:
        raise InvalidArgument(
            "league.board_id", f"board {board.board_id} must have a daily, weekly or monthly period"
        )
    if not board.partition_attribute:
        raise InvalidArgument(
            "league.board_id",
            f"board {board.board_id} needs a partition_attribute: its partitions are the cohorts",
        )


async def upsert_league(
    league: LeagueDefinition,
    *,
    uow: UnitOfWork,
    leagues: Leagues,
    actor: Actor = SYSTEM,
) -> LeagueDefinition:
    """Validate and store the league's next version."""
    league.validate()
    check_board(league, await leagues.boards.catalog.get(league.board_id))
    async with uow:
        current = await uow.leagues.get(league.league_id)
        if current is not None and (why := check_tiers_kept(current, league)):
            raise FailedPrecondition(f"league {league.league_id}: {why}")
        for other in await uow.leagues.all_current():
            if other.board_id == league.board_id and other.league_id != league.league_id:
                raise FailedPrecondition(
                    f"board {league.board_id} already holds league {other.league_id}"
                )
        stored = await uow.leagues.add(league)
        change = Change(
            "LeagueAdminService/UpsertLeague", "league", stored.league_id,
            current.version if current else None, stored.version,
        )  # fmt: skip
        await record(uow, actor, leagues.clock, change)
        await uow.commit()
    await leagues.catalog.changed()
    return stored


async def get_league_definition(league_id: str, *, uow: UnitOfWork) -> LeagueDefinition:
    check_id("league_id", league_id)
    async with uow:
        league = await uow.leagues.get(league_id)
    if league is None:
        raise NotFound("league", league_id)
    return league


async def list_leagues(*, uow: UnitOfWork) -> list[LeagueDefinition]:
    async with uow:
        return sorted(await uow.leagues.all_current(), key=lambda league: league.league_id)
