"""Goals fed by the event pipeline and check-ins: contributions, totals and milestone grants.

Lock order: a transaction that credits goals does so after every other lock it takes, and
then takes contribution rows (by goal, then user) before total rows (by goal). The total
row's lock serialises a goal's milestones: whoever moves the total past a target pays every
contributor at or above the minimum who committed before it, and a contributor who reaches
the minimum later, while the goal is open, is paid the milestones reached by then in their
own transaction. Grant keys make every payment once per contributor, milestone and reward.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.app.catalog import Catalog
from service.app.ports import Clock, UnitOfWork
from service.domain.goals import GoalChange, GoalDefinition, GoalScope, GoalSet, new_qualifiers
from service.domain.rewards import Grant
from service.domain.rules.limits import Limits
from service.domain.rules.state import Event

# What one transaction adds to goals: per goal, each user's amount.
Amounts = dict[str, dict[str, int]]
# What a transaction's goal changes put on contributors' feeds, by user: each goal's change,
# then the grants it paid them.
GoalNews = dict[str, list[GoalChange | Grant]]
# How many of the contributors a milestone pays, besides those of the transaction that
# reached it, get its change on their feeds: one transaction publishes a bounded number of
# updates, and the others read the milestone in GetGoal and their reward history.
MILESTONE_FANOUT = 10_000


async def load_goals(uow: UnitOfWork, clock: Clock, limits: Limits | None = None) -> GoalSet:
    """The goals that have not ended (events and check-ins may count for them), their
    rewards within the hard limits of one grant."""
    async with uow:
        found = await uow.goals.open_definitions(clock.now())
    return GoalSet.of(goal.capped(limits or Limits()) for goal in found)


async def current_goals(catalog: Catalog[GoalSet] | None) -> GoalSet:
    return await catalog.current() if catalog is not None else GoalSet()


async def feed_events(
    uow: UnitOfWork, goals: GoalSet, events: Sequence[Event], now: dt.datetime
) -> GoalNews:
    """Credit applied events to the open goals they count for, inside the caller's
    transaction, after its other locks; what to publish once it commits."""
    amounts: Amounts = defaultdict(lambda: defaultdict(int))
    for goal in goals.for_events():
        for event in events:
            if added := goal.contribution(event, now):
                amounts[goal.goal_id][event.user_id] += added
    return await _credit(uow, goals, amounts, now)


async def feed_check_in(
    uow: UnitOfWork, goals: GoalSet, user_id: str, now: dt.datetime
) -> GoalNews:
    """Credit an accepted check-in to the open check-in goals; what to publish once it
    commits."""
    amounts: Amounts = {goal.goal_id: {user_id: 1} for goal in goals.for_check_ins(now)}
    return await _credit(uow, goals, amounts, now)


async def _members_only(uow: UnitOfWork, goals: GoalSet, amounts: Amounts) -> Amounts:
    """Drop the amounts of team goals' users who are not members of the team."""
    teams = {
        goals.goals[goal_id].team_id for goal_id in amounts
        if goals.goals[goal_id].scope is GoalScope.TEAM
    }  # fmt: skip
    if not teams:
        return amounts
    users = {user for by_user in amounts.values() for user in by_user}
    members = await uow.goals.memberships(teams, users)
    kept: Amounts = {}
    for goal_id, by_user in amounts.items():
        goal = goals.goals[goal_id]
        team = goal.team_id if goal.scope is GoalScope.TEAM else None
        counted = {u: n for u, n in by_user.items() if team is None or (team, u) in members}
        if counted:
            kept[goal_id] = counted
    return kept


async def _credit(uow: UnitOfWork, goals: GoalSet, amounts: Amounts, now: dt.datetime) -> GoalNews:
    news: GoalNews = defaultdict(list)
    if not amounts:
        return news
    amounts = await _members_only(uow, goals, amounts)
    order = sorted(amounts)
    credits = {goal_id: await uow.goals.credit(goal_id, amounts[goal_id], now) for goal_id in order}
    for goal_id in order:
        goal, by_user = goals.goals[goal_id], amounts[goal_id]
        first_time = sum(1 for c in credits[goal_id] if c.before == 0)
        before, after = await uow.goals.add_to_total(goal_id, sum(by_user.values()), first_time)
        contributions = {c.user_id: c.after for c in credits[goal_id]}
        paid = await _pay(uow, goal, before, after, new_qualifiers(goal, credits[goal_id]))
        for user_id, contribution in paid.contributions.items():
            contributions.setdefault(user_id, contribution)
        reached = tuple(m.target for m in goal.newly_reached(before, after))
        for user_id, contribution in contributions.items():
            qualifies = contribution >= goal.min_contribution
            news[user_id].append(GoalChange(goal_id, after, contribution, reached, qualifies))
            news[user_id] += paid.grants.get(user_id, ())
    return news


@dataclass(slots=True)
class _Paid:
    """The grants a transaction queued, by user, and the paid users' contributions."""

    grants: dict[str, list[Grant]] = field(default_factory=lambda: defaultdict(list))
    contributions: dict[str, int] = field(default_factory=dict)


async def _pay(
    uow: UnitOfWork, goal: GoalDefinition, before: int, after: int, qualified: list[str]
) -> _Paid:
    """Milestones this transaction reached pay every qualifying contributor; contributors
    who qualified in it are paid the milestones reached before."""
    paid = _Paid()
    for milestone in goal.newly_reached(before, after):
        for user_id, contribution in await uow.goals.grant_qualified(
            goal, milestone, MILESTONE_FANOUT
        ):
            paid.contributions[user_id] = contribution
            paid.grants[user_id] += goal.grants((milestone,), user_id)
    earlier = goal.reached(before)
    if earlier and qualified:
        grants = [g for user in qualified for g in goal.grants(earlier, user)]
        await uow.outbox.add(grants)
        for grant in grants:
            paid.grants[grant.user_id].append(grant)
    return paid
