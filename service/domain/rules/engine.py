"""The rules engine: what one event, claim or measure does to one user's state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace

from service.domain.rewards import Grant, Reward, RewardKind
from service.domain.rules import boosts
from service.domain.rules.badge_progress import advance_badge, blank
from service.domain.rules.caps import CappedGrant, use_caps, velocity_breach
from service.domain.rules.conditions import all_hold
from service.domain.rules.definitions import (
    LEVELS_ID,
    BadgeDefinition,
    CriterionKind,
    Measure,
    TaskDefinition,
)
from service.domain.rules.levels import level_for, levels_between
from service.domain.rules.limits import saturated
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.state import (
    BadgeState,
    BadgeUnlock,
    Counter,
    Effects,
    Event,
    LevelUp,
    Outcome,
    Shared,
    TaskChange,
    TaskCompletion,
    UserState,
)
from service.domain.rules.task_progress import advance, blocker
from service.domain.rules.windows import earlier, window_at


class _Evaluation:
    """Accumulates the changes of one step for one user; never touches I/O."""

    def __init__(
        self, state: UserState, rules: RuleSet, shared: Shared, now: dt.datetime, cause: str
    ) -> None:
        self.rules, self.shared, self.now, self.cause = rules, shared, now, cause
        self.profile = self.start = state.profile
        self.tasks, self.badges = dict(state.tasks), dict(state.badges)
        self.counters = dict(state.counters)
        self.changed: dict[str, set[str]] = {"tasks": set(), "badges": set(), "counters": set()}
        self.task_changes: list[TaskChange] = []
        self.completions: list[TaskCompletion] = []
        self.unlocks: list[BadgeUnlock] = []
        self.level_ups: list[LevelUp] = []
        self.grants: list[CappedGrant] = []
        self.supply: list[str] = []

    def set_counter(self, counter: Counter) -> None:
        self.counters[counter.key] = counter
        self.changed["counters"].add(counter.key)

    def grant(
        self, rewards: Iterable[Reward], ref: str, reason: str, *, kind: str, definition: str,
        version: int, task_id: str = "",
    ) -> None:  # fmt: skip
        """Queue grants for `rewards`, each at most the maximum grant of its kind; XP also
        counts towards the user's level."""
        for index, reward in enumerate(map(self.rules.limits.capped, rewards)):
            grant = Grant(
                f"{ref}:{index}", self.profile.user_id, reward, reason, kind,
                f"{kind}:{definition}/{self.cause}", version, reward.expires_at(self.now),
            )  # fmt: skip
            self.grants.append(CappedGrant(grant, task_id))
            if reward.kind is RewardKind.XP:
                self.profile = replace(self.profile, xp=saturated(self.profile.xp + reward.amount))

    def move_badge(self, badge: BadgeDefinition, measure: int, at: dt.datetime) -> None:
        state = self.badges.get(badge.badge_id) or blank(badge, self.profile.user_id)
        step = advance_badge(
            badge, state, measure, at, supply_left=self.shared.supply_left.get(badge.badge_id)
        )
        if step.state == state:
            return
        self.badges[badge.badge_id] = step.state
        self.changed["badges"].add(badge.badge_id)
        if badge.supply and state.tier == 0 and step.state.tier:
            self.supply.append(badge.badge_id)
        for tier in step.earned:
            definition = badge.tiers[tier - 1]
            self.unlocks.append(BadgeUnlock(badge.badge_id, badge.version, tier, definition.name))
            self.grant(
                definition.rewards, f"badge:{badge.badge_id}:{self.profile.user_id}:tier-{tier}",
                f"{badge.title}: {definition.name}", kind="badge", definition=badge.badge_id,
                version=badge.version,
            )  # fmt: skip

    def award_badge(self, badge_id: str, at: dt.datetime) -> None:
        """A task tier's badge reward: at least the badge's first tier."""
        badge = self.rules.badges.get(badge_id)
        if badge is None:
            return
        state = self.badges.get(badge_id)
        first = badge.tiers[0].threshold
        if badge.by_rank:
            self.move_badge(badge, min(state.progress or first, first) if state else first, at)
        else:
            self.move_badge(badge, max(state.progress if state else 0, first), at)

    def settle_levels(self, at: dt.datetime) -> None:
        """Level up as far as the XP reaches; level rewards may carry XP of their own."""
        table = self.rules.levels
        while (reached := level_for(self.profile.xp, table).level) > self.profile.level:
            passed = levels_between(self.profile.level, reached, table)
            self.profile = replace(self.profile, level=reached)
            for level in passed:
                self.level_ups.append(LevelUp(level.level, level.name))
                self.grant(
                    level.rewards, f"level:{self.profile.user_id}:{level.level}",
                    f"reached {level.name}", kind="level", definition=LEVELS_ID,
                    version=table.version,
                )  # fmt: skip
        # Also without a level-up: a badge defined after users passed its level is earned
        # at their next step.
        for badge in self.rules.badges_by_kind.get(CriterionKind.LEVEL_REACHED, ()):
            self.move_badge(badge, self.profile.level, at)

    def outcome(self, effects: Effects, budgets: Mapping[str, int]) -> Outcome:
        return Outcome(
            effects=effects,
            profile=self.profile,
            tasks=tuple(self.tasks[k] for k in sorted(self.changed["tasks"])),
            badges=tuple(self.badges[k] for k in sorted(self.changed["badges"])),
            counters=tuple(self.counters[k] for k in sorted(self.changed["counters"])),
            supply=tuple(self.supply),
            budgets=budgets,
        )

    def finish(self, at: dt.datetime) -> Outcome:
        """Apply the caps to everything granted; a broken cap rejects the whole step."""
        self.settle_levels(at)
        use = use_caps(
            self.rules.caps, self.grants, self.counters, self.shared.budget_left, at,
            self.profile.timezone,
        )  # fmt: skip
        if use.rejected:
            return Outcome(Effects(rejected=use.rejected), self.start)
        for counter in use.counters:
            self.set_counter(counter)
        effects = Effects(
            task_changes=tuple(self.task_changes),
            completions=tuple(self.completions),
            badges=tuple(self.unlocks),
            level_ups=tuple(self.level_ups),
            grants=tuple(g.grant for g in self.grants),
        )
        return self.outcome(effects, use.budgets)


def _nth_counts(run: _Evaluation, event: Event) -> dict[str, int]:
    """Count the event towards every nth-event boost on its type."""
    counts: dict[str, int] = {}
    for boost in run.rules.boosts:
        if not boost.nth_event or boost.event_types[0] != event.type:
            continue
        key = boosts.nth_counter_key(boost)
        if key in counts:
            continue
        window = window_at(boost.nth_period, event.occurred_at, run.profile.timezone).window_id
        counter = run.counters.get(key)
        if counter and earlier(window, counter.window_id):
            continue  # a late event: its period's count is gone, so it is no nth event
        seen = counter.amount if counter and counter.window_id == window else 0
        run.set_counter(Counter(key, window, seen + 1))
        counts[key] = seen + 1
    return counts


def _progress_task(
    run: _Evaluation, task: TaskDefinition, event: Event, ctx: boosts.BoostContext
) -> None:
    step = advance(task, run.tasks.get(task.task_id), event, run.profile.timezone)
    if step is None:
        return
    run.tasks[task.task_id] = step.state
    run.changed["tasks"].add(task.task_id)
    run.task_changes.append(step.change)
    for number, tier_number in step.reached:
        tier = task.tiers[tier_number - 1]
        rewards = tuple(
            run.rules.limits.capped(boosts.boost(r, run.rules.boosts, ctx, task.task_id))
            for r in tier.rewards
        )
        completion = TaskCompletion(
            event.user_id, task.task_id, task.version, number, tier_number,
            step.change.window_id, rewards, run.now, event.idempotency_key,
            claimed_at=run.now if task.auto_claim else None,
        )  # fmt: skip
        run.completions.append(completion)
        if task.auto_claim:
            run.grant(
                rewards, completion.ref, f"{task.title}: tier {tier_number} of {len(task.tiers)}",
                kind="task", definition=task.task_id, version=task.version, task_id=task.task_id,
            )  # fmt: skip
        if tier.badge_id:
            run.award_badge(tier.badge_id, event.occurred_at)
        if tier_number == len(task.tiers):
            for badge in run.rules.badges_by_task.get(task.task_id, ()):
                held = run.badges.get(badge.badge_id)
                run.move_badge(badge, (held.progress if held else 0) + 1, event.occurred_at)


def _progress_badge(run: _Evaluation, badge: BadgeDefinition, event: Event) -> None:
    criterion = badge.criterion
    if not all_hold(criterion.conditions, event.value, event.attributes):
        return
    held = run.badges.get(badge.badge_id)
    if criterion.kind is CriterionKind.EVENT_DISTINCT:
        _progress_distinct_badge(run, badge, held or blank(badge, run.profile.user_id), event)
        return
    step = 1 if criterion.kind is CriterionKind.EVENT_COUNT else max(event.value, 0)
    run.move_badge(badge, saturated((held.progress if held else 0) + step), event.occurred_at)


def _progress_distinct_badge(
    run: _Evaluation, badge: BadgeDefinition, held: BadgeState, event: Event
) -> None:
    """Count a value not seen before; the values are kept until the last tier is earned
    (and never more than its threshold), so the state stays bounded."""
    value = event.attributes.get(badge.criterion.distinct_attribute)
    last = badge.tiers[-1].threshold
    full = len(held.distinct) >= last or held.tier == len(badge.tiers)
    if value is None or value in held.distinct or full or not badge.available(event.occurred_at):
        return
    seen = tuple(sorted((*held.distinct, value)))
    run.move_badge(badge, len(seen), event.occurred_at)
    moved = run.badges.get(badge.badge_id, held)
    run.badges[badge.badge_id] = replace(
        moved, distinct=() if moved.tier == len(badge.tiers) else seen
    )
    run.changed["badges"].add(badge.badge_id)


def evaluate_event(
    event: Event, state: UserState, rules: RuleSet, shared: Shared, now: dt.datetime
) -> Outcome:
    """Everything `event` does for its user: progress, completions, badges, levels and
    grants, or a rejection when its value is beyond the limit, or it breaks a velocity limit
    or a cap.

    `shared` holds the badge supply and budgets left as locked by the caller; what it
    omits is assumed available, and the outcome names what it consumes so that the caller
    can lock those and evaluate again.
    """
    breach = rules.limits.value_breach(event.value) or velocity_breach(
        rules.caps, event.type, state.recent_events
    )
    if breach:
        return Outcome(Effects(rejected=breach), state.profile)
    run = _Evaluation(state, rules, shared, now, f"event:{event.idempotency_key}")
    ctx = boosts.BoostContext(event, state.profile, _nth_counts(run, event))
    for task in rules.tasks_by_event.get(event.type, ()):
        if all_hold(task.conditions, event.value, event.attributes) and not blocker(
            task, run.profile, run.tasks, event.occurred_at
        ):
            _progress_task(run, task, event, ctx)
    for badge in rules.badges_by_event.get(event.type, ()):
        _progress_badge(run, badge, event)
    return run.finish(event.occurred_at)


def evaluate_claim(
    completions: Iterable[TaskCompletion],
    state: UserState,
    rules: RuleSet,
    shared: Shared,
    now: dt.datetime,
) -> Outcome:
    """Grant the stored rewards of completed tiers the user claims now; caps apply."""
    run = _Evaluation(state, rules, shared, now, "claim")
    claimed = []
    for completion in completions:
        task = rules.tasks.get(completion.task_id)
        title = task.title if task else completion.task_id
        run.grant(
            completion.rewards, completion.ref, f"{title}: tier {completion.tier} claimed",
            kind="task", definition=completion.task_id, version=completion.version,
            task_id=completion.task_id,
        )  # fmt: skip
        claimed.append(replace(completion, claimed_at=now))
    outcome = run.finish(now)
    if outcome.effects.rejected:
        return outcome
    return replace(outcome, effects=replace(outcome.effects, completions=tuple(claimed)))


def evaluate_measure(
    state: UserState,
    rules: RuleSet,
    shared: Shared,
    now: dt.datetime,
    *,
    kind: CriterionKind,
    measure: int,
    cause: str,
    board_id: str = "",
) -> Outcome:
    """A streak length, or a final board rank, reached by the user: badges on it move."""
    run = _Evaluation(state, rules, shared, now, cause)
    for badge in rules.badges_by_kind.get(kind, ()):
        if not board_id or badge.criterion.board_id == board_id:
            run.move_badge(badge, measure, now)
    return run.finish(now)


def evaluate_assist(
    task: TaskDefinition,
    progress: int,
    *,
    state: UserState,
    rules: RuleSet,
    shared: Shared,
    now: dt.datetime,
    cause: str,
) -> Outcome:
    """A friend's assist: `progress` added to the task as an event of its type at `now`
    would add it, so tiers it reaches complete and grant as usual; caps apply. The caller
    checked blocker() and the assist rule's caps."""
    run = _Evaluation(state, rules, shared, now, cause)
    event = Event(cause, state.profile.user_id, task.event_type, progress, {}, now)
    ctx = boosts.BoostContext(event, state.profile, {})
    # As a sum, so that the assist adds its own progress whatever the task's measure.
    _progress_task(run, replace(task, measure=Measure.SUM), event, ctx)
    return run.finish(now)
