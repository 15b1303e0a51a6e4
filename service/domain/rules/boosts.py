"""Which boosts apply to a reward, and how they stack."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from service.domain.rewards import Reward
from service.domain.rules.audience import audience_gap
from service.domain.rules.limits import MAX_BOOST_PERCENT
from service.domain.rules.modifiers import BoostDefinition
from service.domain.rules.state import Event, Profile
from service.domain.rules.windows import local_day

NO_BOOST = 100


@dataclass(frozen=True, slots=True)
class BoostContext:
    """What decides whether a boost applies to the rewards of one event."""

    event: Event
    profile: Profile
    # How many events of each boost's type the user sent in its nth period, this one included.
    nth_counts: Mapping[str, int]


def nth_counter_key(boost: BoostDefinition) -> str:
    return f"events:{boost.event_types[0]}:{boost.nth_period}"


def applies(boost: BoostDefinition, ctx: BoostContext, task_id: str) -> bool:
    event = ctx.event
    at = event.occurred_at
    if (boost.starts_at and at < boost.starts_at) or (boost.ends_at and at >= boost.ends_at):
        return False
    weekday = local_day(at, ctx.profile.timezone).isoweekday()
    if boost.weekdays and weekday not in boost.weekdays:
        return False
    if audience_gap(boost.min_level, boost.segments, ctx.profile):
        return False
    if boost.event_types and event.type not in boost.event_types:
        return False
    if boost.task_ids and task_id not in boost.task_ids:
        return False
    return not boost.nth_event or ctx.nth_counts.get(nth_counter_key(boost)) == boost.nth_event


def multiplier_percent(boosts: Iterable[BoostDefinition]) -> int:
    """Within a stack group the largest multiplier wins; groups multiply together, up to
    MAX_BOOST_PERCENT in all."""
    best: dict[str, int] = {}
    for boost in boosts:
        best[boost.stack_group] = max(best.get(boost.stack_group, 0), boost.multiplier_percent)
    total = NO_BOOST
    for percent in best.values():
        total = min(total * percent // 100, MAX_BOOST_PERCENT)
    return total


def boost(
    reward: Reward, boosts: Iterable[BoostDefinition], ctx: BoostContext, task_id: str
) -> Reward:
    """The reward with every applicable boost applied; amounts round down."""
    live = [b for b in boosts if reward.kind in b.reward_kinds and applies(b, ctx, task_id)]
    percent = multiplier_percent(live)
    if percent == NO_BOOST:
        return reward
    return replace(reward, amount=reward.amount * percent // 100)
