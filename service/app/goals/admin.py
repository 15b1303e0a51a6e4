"""Goal administration: define goals (versioned until they start, fixed after) and teams."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.catalog import Catalog
from service.app.goals.ports import Member, Team
from service.app.paging import PageTokens, page_size
from service.app.ports import Clock, UnitOfWork
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from service.domain.goals import GoalDefinition, GoalScope, GoalSet
from service.domain.rules.checks import MAX_TITLE, check_definition_id
from service.domain.validation import check_id

MAX_MEMBERS_PER_CALL = 500
MAX_TEAM_SIZE = 100_000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_GOAL_PAGE_SIZE = 50
MAX_GOAL_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Goals:
    """What goal handlers share: the catalog of goals that can still count, and the clock."""

    catalog: Catalog[GoalSet]
    clock: Clock


async def upsert_goal(
    goal: GoalDefinition, *, uow: UnitOfWork, goals: Goals, actor: Actor = SYSTEM
) -> GoalDefinition:
    """Store a new version of the goal; once its window started, the definition is fixed,
    since totals, contributions and paid milestones depend on it."""
    goal.validate()
    now = goals.clock.now()
    if goal.ends_at <= now:
        raise InvalidArgument("ends_at", "must be in the future")
    async with uow:
        if (
            goal.scope is GoalScope.TEAM
            and await uow.goals.get_team(goal.team_id, lock=True) is None
        ):
            raise NotFound("team", goal.team_id)
        stored = await uow.goals.lock_definition(goal.goal_id)
        if stored is not None and stored.fixed_at(now):
            raise FailedPrecondition(
                f"goal {goal.goal_id} started at {stored.starts_at.isoformat()}: a started "
                "goal cannot change; define a new goal instead"
            )
        before = stored.version if stored is not None else None
        saved = dataclasses.replace(goal, version=(before or 0) + 1)
        await uow.goals.save_definition(saved)
        change = Change(
            "GoalAdminService/UpsertGoal", "goal", goal.goal_id, before, saved.version,
            {"scope": str(goal.scope), "team_id": goal.team_id},
        )  # fmt: skip
        await record(uow, actor, goals.clock, change)
        await uow.commit()
    await goals.catalog.changed()
    return saved


async def define_once(goal: GoalDefinition, *, uow: UnitOfWork, goals: Goals) -> bool:
    """Define `goal` unless a goal with its id exists; whether it was defined."""
    async with uow:
        exists = await uow.goals.lock_definition(goal.goal_id) is not None
    if not exists:
        await upsert_goal(goal, uow=uow, goals=goals)
    return not exists


async def get_definition(goal_id: str, *, uow: UnitOfWork) -> GoalDefinition:
    """The goal's current definition, also once it has ended."""
    check_definition_id("goal_id", goal_id)
    async with uow:
        goal = await uow.goals.get_definition(goal_id)
    if goal is None:
        raise NotFound("goal", goal_id)
    return goal


@dataclass(frozen=True, slots=True)
class DefinitionPage:
    goals: tuple[GoalDefinition, ...]
    next_page_token: str


async def list_definitions(
    requested_size: int, page_token: str, *, uow: UnitOfWork, tokens: PageTokens
) -> DefinitionPage:
    """Every goal's current definition, the most recently defined first: ended goals too,
    since a game file that names one must still compare equal to it."""
    size = page_size(requested_size, DEFAULT_GOAL_PAGE_SIZE, MAX_GOAL_PAGE_SIZE)
    where = ("goal_definitions",)
    before_seq = tokens.decode(page_token, where)
    async with uow:
        found = await uow.goals.definitions(before_seq, size + 1)
    page = found[:size]
    token = tokens.encode(page[-1][0], where) if len(found) > size else ""
    return DefinitionPage(tuple(goal for _, goal in page), token)


def _check_team_id(team_id: str) -> None:
    check_definition_id("team_id", team_id)


async def create_team(
    team_id: str, name: str, *, uow: UnitOfWork, clock: Clock, actor: Actor = SYSTEM
) -> tuple[Team, bool]:
    """Create a team; the same call again succeeds and reports `created` false."""
    _check_team_id(team_id)
    if not name.strip() or len(name) > MAX_TITLE:
        raise InvalidArgument("name", f"must be 1 to {MAX_TITLE} characters, not all blank")
    async with uow:
        team, created = await uow.goals.create_team(Team(team_id, name, clock.now()))
        if team.name != name:
            raise FailedPrecondition(f"team {team_id} exists with the name {team.name!r}")
        if created:
            change = Change("GoalAdminService/CreateTeam", "team", team_id, details={"name": name})
            await record(uow, actor, clock, change)
        await uow.commit()
    return team, created


def _user_ids(user_ids: list[str]) -> list[str]:
    if not 1 <= len(user_ids) <= MAX_MEMBERS_PER_CALL:
        raise InvalidArgument("user_ids", f"must hold 1 to {MAX_MEMBERS_PER_CALL} user ids")
    for index, user_id in enumerate(user_ids):
        check_id(f"user_ids[{index}]", user_id)
    return sorted(set(user_ids))


async def change_members(
    team_id: str,
    user_ids: list[str],
    *,
    add: bool,
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor = SYSTEM,
) -> tuple[Team, int]:
    """Add or remove members; how many joined or left. A member's contributions so far stay
    in the team's totals; from the change on, their events count (or not)."""
    _check_team_id(team_id)
    users = _user_ids(user_ids)
    rpc = "AddTeamMembers" if add else "RemoveTeamMembers"
    async with uow:
        team = await uow.goals.get_team(team_id, lock=True)  # serialises the size check
        if team is None:
            raise NotFound("team", team_id)
        if add and team.members + len(users) > MAX_TEAM_SIZE:
            raise ResourceExhausted(f"team {team_id} would exceed {MAX_TEAM_SIZE} members")
        if add:
            changed = await uow.goals.add_members(team_id, users, clock.now())
        else:
            changed = await uow.goals.remove_members(team_id, users)
        if changed:
            details = {"users": len(users), "changed": changed}
            await record(
                uow,
                actor,
                clock,
                Change(f"GoalAdminService/{rpc}", "team", team_id, details=details),
            )
        await uow.commit()
    members = team.members + changed if add else team.members - changed
    return dataclasses.replace(team, members=members), changed


@dataclass(frozen=True, slots=True)
class MemberPage:
    members: tuple[Member, ...]
    next_page_token: str


async def list_members(
    team_id: str,
    requested_size: int,
    page_token: str,
    *,
    uow: UnitOfWork,
    tokens: PageTokens,
) -> MemberPage:
    """The team's members, newest first."""
    _check_team_id(team_id)
    size = page_size(requested_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    where = ("team_members", team_id)
    before_id = tokens.decode(page_token, where)
    async with uow:
        if await uow.goals.get_team(team_id) is None:
            raise NotFound("team", team_id)
        found = await uow.goals.members(team_id, before_id, size + 1)
    page = tuple(found[:size])
    token = tokens.encode(page[-1].id, where) if len(found) > size else ""
    return MemberPage(page, token)
