"""What a player sees of goals: progress, milestones, their own part and the time left."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from service.app.goals.ports import Standing
from service.app.paging import PageTokens, page_size
from service.app.ports import Clock, UnitOfWork
from service.domain.errors import NotFound
from service.domain.goals import GoalMilestone
from service.domain.rules.checks import check_definition_id
from service.domain.validation import check_id

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class GoalState(enum.StrEnum):
    UPCOMING = "upcoming"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class GoalView:
    standing: Standing
    state: GoalState
    reached: tuple[GoalMilestone, ...]
    next: GoalMilestone | None
    # Until the window ends (zero once it has); for an upcoming goal, until it starts.
    time_left: dt.timedelta
    # Whether the user's contribution reached the minimum that milestone rewards need.
    qualifies: bool


def view(standing: Standing, now: dt.datetime) -> GoalView:
    goal = standing.goal
    if now < goal.starts_at:
        state, left = GoalState.UPCOMING, goal.starts_at - now
    elif now < goal.ends_at:
        state, left = GoalState.ACTIVE, goal.ends_at - now
    else:
        state, left = GoalState.ENDED, dt.timedelta(0)
    return GoalView(
        standing, state, goal.reached(standing.total), goal.next_milestone(standing.total),
        left, standing.mine >= goal.min_contribution,
    )  # fmt: skip


async def get_goal(goal_id: str, user_id: str, *, uow: UnitOfWork, clock: Clock) -> GoalView:
    """One goal's progress as `user_id` sees it: one round trip."""
    check_definition_id("goal_id", goal_id)
    check_id("user_id", user_id)
    async with uow:
        standing = await uow.goals.standing(goal_id, user_id)
    if standing is None:
        raise NotFound("goal", goal_id)
    return view(standing, clock.now())


@dataclass(frozen=True, slots=True)
class ListGoals:
    user_id: str
    include_ended: bool = False
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class GoalPage:
    goals: tuple[GoalView, ...]
    next_page_token: str


async def list_goals(
    query: ListGoals, *, uow: UnitOfWork, clock: Clock, tokens: PageTokens
) -> GoalPage:
    """Community goals and the goals of the user's teams, newest first; ended ones only
    when asked for."""
    check_id("user_id", query.user_id)
    size = page_size(query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    where = ("goals", query.user_id, query.include_ended)
    before = tokens.decode(query.page_token, where)
    now = clock.now()
    async with uow:
        found = await uow.goals.standings(
            query.user_id, None if query.include_ended else now, before, size + 1
        )
    page = tuple(view(s, now) for s in found[:size])
    token = tokens.encode(page[-1].standing.seq, where) if len(found) > size else ""
    return GoalPage(page, token)
