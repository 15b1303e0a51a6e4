"""Operators' insight: a draft's dry run over stored events, and why a user has no reward."""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from service.app.paging import PageTokens, page_size
from service.app.ports import UnitOfWork
from service.app.rules.outcomes import Rules, read_state
from service.app.rules.ports import StoredEvent
from service.app.rules.views import DryRunReport
from service.domain.errors import InvalidArgument, NotFound
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.badge_progress import blank
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.definitions import BadgeDefinition, TaskDefinition
from service.domain.rules.engine import evaluate_event
from service.domain.rules.explain import Explanation, LastEvent, explain_badge, explain_task
from service.domain.rules.limits import MAX_INT64
from service.domain.rules.ruleset import Definition, RuleSet
from service.domain.rules.state import Event, Profile, Shared, UserState
from service.domain.validation import check_id

MAX_DRY_RUN_DAYS = 90
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_PROFILE_BATCH = 500


async def _by_users(events: AsyncIterator[Event]) -> AsyncIterator[list[list[Event]]]:
    """Events grouped per user, in groups of users (replay yields each user's together)."""
    group: list[list[Event]] = []
    async for event in events:
        if not group or group[-1][0].user_id != event.user_id:
            if len(group) == _PROFILE_BATCH:
                yield group
                group = []
            group.append([])
        group[-1].append(event)
    if group:
        yield group


def _replay_user(
    events: list[Event], profile: Profile, ruleset: RuleSet
) -> tuple[bool, list[Reward]]:
    """Run one user's events through the draft alone; whether it completes, and the cost."""
    state = UserState(profile)
    done, cost = False, list[Reward]()
    for event in events:
        outcome = evaluate_event(event, state, ruleset, Shared(), event.occurred_at)
        if outcome.effects.rejected:
            continue
        done = (
            done
            or bool(outcome.effects.badges)
            or any(
                c.tier == len(t.tiers)
                for c in outcome.effects.completions
                if (t := ruleset.tasks.get(c.task_id)) is not None
            )
        )
        cost.extend(g.reward for g in outcome.effects.grants)
        state = state.after(outcome)
    return done, cost


async def dry_run(
    definition: Definition, days: int, *, uow: UnitOfWork, rules: Rules
) -> DryRunReport:
    """Evaluate a draft task or badge against the stored events of the last `days` days.

    Each user starts from nothing at the start of the span, with their current level,
    segments and timezone; live boosts apply, caps, prerequisites and other definitions do
    not. Nothing is written.
    """
    if not isinstance(definition, TaskDefinition | BadgeDefinition):
        raise InvalidArgument("definition", "a dry run takes a task or a badge")
    definition.validate()
    if not 1 <= days <= MAX_DRY_RUN_DAYS:
        raise InvalidArgument("days", f"must be between 1 and {MAX_DRY_RUN_DAYS}")
    current = await rules.catalog.current()
    # Alone: other definitions' progress is not replayed, so prerequisites cannot hold.
    draft = (
        replace(definition, prerequisites=())
        if isinstance(definition, TaskDefinition)
        else definition
    )
    ruleset = RuleSet.of([draft, *current.boosts], current.limits)
    event_type = (
        definition.event_type
        if isinstance(definition, TaskDefinition)
        else definition.criterion.event_type
    )
    if not event_type:
        raise InvalidArgument("definition", "a dry run takes a badge on events")
    since = rules.clock.now() - dt.timedelta(days=days)
    events = users = completing = 0
    cost: Tally[tuple[RewardKind, str]] = Tally()
    async with uow:
        async for group in _by_users(uow.events.replay([event_type], since)):
            profiles = await uow.rule_state.profiles([user[0].user_id for user in group])
            for user_events in group:
                user_id = user_events[0].user_id
                profile = profiles.get(user_id, Profile(user_id))
                done, rewards = _replay_user(user_events, profile, ruleset)
                events, users = events + len(user_events), users + 1
                completing += done
                for reward in rewards:
                    cost[reward.kind, reward.item_code] += reward.amount
    totals = sorted(cost.items())
    return DryRunReport(
        days, events, users, completing,
        tuple(Reward(kind, min(amount, MAX_INT64), item) for (kind, item), amount in totals),
    )  # fmt: skip


async def explain_progress(
    user_id: str, kind: DefinitionKind, definition_id: str, *, uow: UnitOfWork, rules: Rules
) -> Explanation:
    """Which of a task's or badge's conditions hold for the user, and why no reward came."""
    check_id("user_id", user_id)
    check_id("definition_id", definition_id)
    ruleset = await rules.catalog.current()
    now = rules.clock.now()
    async with uow:
        state = await read_state(uow, user_id, now)
        profile = state.profile
        if kind is DefinitionKind.TASK and definition_id in ruleset.tasks:
            task = ruleset.tasks[definition_id]
            last = await _last_event(uow, user_id, task.event_type)
            unclaimed = (await uow.rule_state.unclaimed_counts(user_id)).get(definition_id, 0)
            return explain_task(task, profile, dict(state.tasks), last, unclaimed, now)
        if kind is DefinitionKind.BADGE and definition_id in ruleset.badges:
            badge = ruleset.badges[definition_id]
            held = state.badges.get(definition_id) or blank(badge, user_id)
            last = await _last_event(uow, user_id, badge.criterion.event_type)
            holders = (await uow.rule_state.badge_holders()).get(definition_id, 0)
            left = max(badge.supply - holders, 0) if badge.supply else None
            return explain_badge(badge, held, last, left, now)
    if kind not in (DefinitionKind.TASK, DefinitionKind.BADGE):
        raise InvalidArgument("kind", "explains a task or a badge")
    raise NotFound(str(kind), f"{definition_id} (or it is archived)")


async def _last_event(uow: UnitOfWork, user_id: str, event_type: str) -> LastEvent | None:
    if not event_type:
        return None
    stored = await uow.events.latest(user_id, event_type)
    return LastEvent(stored.event, stored.effects.rejected) if stored else None


@dataclass(frozen=True, slots=True)
class ListFlagged:
    user_id: str = ""
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class FlaggedPage:
    events: tuple[StoredEvent, ...]
    next_page_token: str


async def list_flagged(query: ListFlagged, *, uow: UnitOfWork, tokens: PageTokens) -> FlaggedPage:
    """Events a cap or velocity limit rejected, newest first, for a person to review."""
    if query.user_id:
        check_id("user_id", query.user_id)
    size = page_size(query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    where = ("flagged", query.user_id)
    before = tokens.decode(query.page_token, where)
    async with uow:
        found = await uow.events.flagged(query.user_id, before, size + 1)
    token = tokens.encode(found[size - 1][0], where) if len(found) > size else ""
    return FlaggedPage(tuple(stored for _, stored in found[:size]), token)
