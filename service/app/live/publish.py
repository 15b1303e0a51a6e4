"""What handlers put on users' feeds after their commits: the effects they decided."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from service.app.goals.contributions import GoalNews
from service.app.leagues.ports import PastSeason
from service.app.live.ports import CheckedIn, Feed, SeasonEnded, Stamped, Update
from service.app.rules.ports import EventStatus
from service.app.rules.views import Tracked
from service.domain.check_in import CheckInOutcome
from service.domain.duels import Duel
from service.domain.errors import DomainError
from service.domain.rewards import Grant
from service.domain.rules.state import Effects, Event


def effect_updates(effects: Effects) -> list[Update]:
    """An applied event's updates, in the order an app shows them: bars, tiers, badges,
    levels, then the grants they paid."""
    return [
        *effects.task_changes, *effects.completions, *effects.badges, *effects.level_ups,
        *effects.grants,
    ]  # fmt: skip


async def publish_tracked(
    feed: Feed,
    events: Sequence[Event],
    results: Sequence[Tracked | DomainError],
    now: dt.datetime,
    goals: GoalNews,
) -> None:
    """The updates of the events a group applied now (not duplicates, not rejected ones),
    then the goal changes they made."""
    by_user: dict[str, list[Stamped]] = defaultdict(list)
    for event, result in zip(events, results, strict=True):
        if not isinstance(result, Tracked) or result.duplicate:
            continue
        if result.status is EventStatus.APPLIED:
            by_user[event.user_id] += [Stamped(u, now) for u in effect_updates(result.effects)]
    for user_id, updates in goals.items():
        by_user[user_id] += [Stamped(u, now) for u in updates]
    if by_user:
        await feed.publish_many(by_user)


async def publish_check_in(
    feed: Feed, outcome: CheckInOutcome, now: dt.datetime, goals: GoalNews
) -> None:
    """A recorded check-in or make-up and the grants it paid, then the goal changes it made
    (to other contributors too, when it reached a milestone)."""
    record = outcome.record
    updates: list[Update] = [CheckedIn(record, outcome.state.current), *outcome.grants]
    by_user = {record.user_id: [Stamped(u, now) for u in updates]}
    for user_id, changes in goals.items():
        by_user.setdefault(user_id, []).extend(Stamped(u, now) for u in changes)
    await feed.publish_many(by_user)


async def publish_claim(
    feed: Feed, user_id: str, grants: Sequence[Grant], now: dt.datetime
) -> None:
    """The grants a claim paid (its tiers were on the feed when they were completed)."""
    if grants:
        await feed.publish(user_id, [Stamped(g, now) for g in grants])


async def publish_duels(
    feed: Feed, duels: Sequence[Duel], grants: Sequence[Grant], now: dt.datetime
) -> None:
    """Each duel's new state to both its players, and the grants it decided."""
    by_user: dict[str, list[Stamped]] = defaultdict(list)
    for duel in duels:
        for user_id in (duel.challenger_id, duel.opponent_id):
            if user_id:  # an erased player's side is gone
                by_user[user_id].append(Stamped(duel, now))
    for grant in grants:
        by_user[grant.user_id].append(Stamped(grant, now))
    if by_user:
        await feed.publish_many(by_user)


async def publish_season(
    feed: Feed, league_id: str, seasons: Mapping[str, PastSeason], grants: Sequence[Grant],
    now: dt.datetime,
) -> None:  # fmt: skip
    """Each member's season result, then the grants the season end decided for them."""
    by_user: dict[str, list[Stamped]] = defaultdict(list)
    for user_id, season in seasons.items():
        by_user[user_id].append(Stamped(SeasonEnded(league_id, season), now))
    for grant in grants:
        by_user[grant.user_id].append(Stamped(grant, now))
    if by_user:
        await feed.publish_many(by_user)
