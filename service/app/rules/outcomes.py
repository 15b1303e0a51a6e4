"""What the rules handlers share: the rule catalog and how an outcome is decided and stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from service.app.boards.scores import Boards
from service.app.catalog import Catalog
from service.app.leagues.definitions import LeagueCatalog
from service.app.ports import Clock, UnitOfWork
from service.domain.goals import GoalSet
from service.domain.rewards import Grant
from service.domain.rules.limits import Limits
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.state import Outcome, Profile, Shared, TaskCompletion, UserState

# Velocity limits count the events a user sent within this span.
VELOCITY_SPAN = dt.timedelta(minutes=1)
# Rarity counts every profile and badge holder: each replica recounts at most this often.
RARITY_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Rules:
    """What the rules handlers need besides a unit of work."""

    catalog: Catalog[RuleSet]
    boards: Boards
    clock: Clock
    rarity: Catalog[Rarity]
    max_event_age: dt.timedelta = dt.timedelta(days=7)
    max_event_skew: dt.timedelta = dt.timedelta(minutes=5)
    # Team and community goals that events and check-ins feed; None: no goals.
    goals: Catalog[GoalSet] | None = None
    # Leagues whose boards' partitions are cohorts; None where no league is served.
    leagues: LeagueCatalog | None = None


@dataclass(frozen=True, slots=True)
class Rarity:
    """How many users hold each badge's first tier, out of all users with a profile."""

    holders: Mapping[str, int]
    users: int

    def of(self, badge_id: str) -> float:
        return self.holders.get(badge_id, 0) / self.users if self.users else 0.0


async def load_rarity(uow: UnitOfWork) -> Rarity:
    """Counted over every profile and badge holder: callers cache it."""
    async with uow:
        return Rarity(await uow.rule_state.badge_holders(), await uow.rule_state.user_count())


async def load_rules(uow: UnitOfWork, limits: Limits | None = None) -> RuleSet:
    async with uow:
        return RuleSet.of(await uow.definitions.all_current(), limits)


async def decide(
    uow: UnitOfWork,
    rules: RuleSet,
    evaluate: Callable[[Shared], Outcome],
    shared: Shared | None = None,
) -> Outcome:
    """Evaluate, locking the badge supply and budgets the outcome consumes, until the
    outcome only consumes what is locked; then take what it consumes.

    `shared` holds what the caller locked already; the caller keeps it up to date.
    """
    shared = shared or Shared()
    while True:
        outcome = evaluate(shared)
        supply = {b: rules.badges[b].supply for b in outcome.supply}
        budgets = {c.cap_id: c.limit for c in rules.caps if c.cap_id in outcome.budgets}
        supply = {b: n for b, n in supply.items() if b not in shared.supply_left}
        budgets = {c: n for c, n in budgets.items() if c not in shared.budget_left}
        if not supply and not budgets:
            break
        locked = await uow.rule_state.lock_shared(supply, budgets)
        shared = Shared(
            {**shared.supply_left, **locked.supply_left},
            {**shared.budget_left, **locked.budget_left},
        )
    if not outcome.effects.rejected and (outcome.supply or outcome.budgets):
        await uow.rule_state.consume_shared(outcome.supply, outcome.budgets)
    return outcome


async def store(
    uow: UnitOfWork,
    changes: Sequence[tuple[UserState, UserState]],
    completions: Sequence[TaskCompletion],
    grants: Sequence[Grant],
) -> None:
    """Write what users' states changed (before, after), new completions and the grants."""
    await uow.rule_state.save_progress([a.profile for b, a in changes if a.profile != b.profile])
    await uow.rule_state.save([a.changed_since(b) for b, a in changes], completions)
    await uow.outbox.add(grants)


async def read_state(uow: UnitOfWork, user_id: str, now: dt.datetime) -> UserState:
    """A user's rule state to read, not to change: blank for a user never seen."""
    profile = await uow.rule_state.get_profile(user_id) or Profile(user_id)
    return await uow.rule_state.load(profile, (), now - VELOCITY_SPAN)
