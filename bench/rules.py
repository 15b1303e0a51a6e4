"""`make bench-rules`: events per second through the pure rules engine, in one process, beside a
no-op figure from the same run.

The rule set mixes tasks over ten event types (conditions, tiers, every cadence, audiences,
prerequisites, rollouts), badges on events, task completions and levels, a level table, boosts
and caps. Users start with progress on most tasks in their current windows and live in several
timezones; the events span three days, so windows roll over at local midnights during the run.
Only building the Event and evaluate_event are timed; storing the outcome is not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import random
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from service.domain.rewards import Reward, RewardKind
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    BadgeCriterion,
    BadgeDefinition,
    BadgeTier,
    CriterionKind,
    Level,
    LevelTable,
    Measure,
    TaskDefinition,
    TaskTier,
)
from service.domain.rules.engine import evaluate_event
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition, RuleSet
from service.domain.rules.state import (
    BadgeState,
    Event,
    Outcome,
    Profile,
    Shared,
    TaskState,
    UserState,
)
from service.domain.rules.task_progress import task_window
from service.domain.rules.windows import Cadence

EVENT_TYPES = (
    "purchase", "review", "invite", "share", "login",
    "watch", "quiz", "referral", "deposit", "play",
)  # fmt: skip
SUMMED = {"purchase", "deposit", "watch"}
CATEGORIES = ("books", "games", "music", "food", "travel")
TIMEZONES = (
    "UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo",
    "America/Sao_Paulo", "Asia/Kolkata", "Australia/Sydney",
)  # fmt: skip
CADENCES = (
    (Cadence.DAILY, 40), (Cadence.WEEKLY, 25), (Cadence.MONTHLY, 10),
    (Cadence.ONCE, 15), (Cadence.DATE_RANGE, 10),
)  # fmt: skip
# A Friday evening in UTC: the run crosses a weekend and several local midnights.
START = dt.datetime(2026, 3, 6, 18, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=3)
Planned = tuple[str, str, int, dict[str, str], dt.datetime]


@dataclass
class Figures:
    command: str
    python: str
    tasks: int
    badges: int
    boosts: int
    caps: int
    levels: int
    users: int
    events: int
    seconds: float
    events_per_second: float
    us_per_event: float
    p50_us: float
    p99_us: float
    noop_events_per_second: float
    noop_us_per_event: float
    outcomes: dict[str, int] = field(default_factory=dict)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000, help="events timed (default: 30000)")
    parser.add_argument("--tasks", type=int, default=50, help="task definitions (default: 50)")
    parser.add_argument("--badges", type=int, default=50, help="badge definitions (default: 50)")
    parser.add_argument(
        "--users", type=int, default=1000, help="users sending them (default: 1000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--json", type=Path, default=Path("bench-results/rules.json"))
    return parser.parse_args()


def _rewards(rng: random.Random, scale: int) -> tuple[Reward, ...]:
    rewards = [Reward(RewardKind.POINTS, scale * rng.choice((5, 10, 20)))]
    if rng.random() < 0.5:
        rewards.append(Reward(RewardKind.XP, scale * rng.choice((10, 25))))
    if rng.random() < 0.15:
        rewards.append(Reward(RewardKind.COUPON, 1, f"coupon-{rng.randrange(20)}"))
    return tuple(rewards)


def _conditions(rng: random.Random, event_type: str) -> tuple[Condition, ...]:
    pool = [
        Condition("attributes.category", Op.IN, tuple(rng.sample(CATEGORIES, 3))),
        Condition("attributes.channel", Op.NE, ("web",)),
        Condition("value", Op.GE, (str(rng.choice((5, 10, 20))),)),
        Condition("attributes.campaign", Op.EXISTS),
    ]
    if event_type in SUMMED:
        pool.append(Condition("attributes.amount", Op.LT, ("500",)))
    return tuple(rng.sample(pool, rng.choice((0, 1, 1, 2))))


def _task(rng: random.Random, index: int, once_ids: list[str]) -> TaskDefinition:
    event_type = EVENT_TYPES[index % len(EVENT_TYPES)]
    measure = Measure.SUM if event_type in SUMMED else Measure.COUNT
    cadence = rng.choices([c for c, _ in CADENCES], [w for _, w in CADENCES])[0]
    base = rng.choice((2, 3, 5, 10)) * (50 if measure is Measure.SUM else 1)
    tier_count = rng.choice((1, 1, 2, 3))
    tiers = tuple(TaskTier(base * 3**n, _rewards(rng, n + 1)) for n in range(tier_count))
    periodic = cadence not in (Cadence.ONCE, Cadence.DATE_RANGE)
    repeatable = cadence is Cadence.ONCE and rng.random() < 0.3
    return TaskDefinition(
        task_id=f"task-{index}",
        title=f"Task {index}",
        event_type=event_type,
        tiers=tiers,
        measure=measure,
        conditions=_conditions(rng, event_type),
        cadence=cadence,
        week_start=rng.choice((1, 7)),
        active_weekdays=(1, 2, 3, 4, 5) if rng.random() < 0.1 else (),
        starts_on=dt.date(2026, 3, 1) if cadence is Cadence.DATE_RANGE else None,
        ends_on=dt.date(2026, 3, 31) if cadence is Cadence.DATE_RANGE else None,
        repeatable=repeatable,
        max_completions=0 if periodic else (3 if repeatable else 1),
        prerequisites=(rng.choice(once_ids),) if once_ids and rng.random() < 0.1 else (),
        min_level=rng.choice((0, 0, 0, 3)),
        segments=("vip",) if rng.random() < 0.05 else (),
        rollout_percent=rng.choice((100, 100, 100, 50)),
        version=1,
    )


def _badge(rng: random.Random, index: int, tasks: list[TaskDefinition]) -> BadgeDefinition:
    draw = rng.random()
    if draw < 0.6:
        event_type = rng.choice(EVENT_TYPES)
        kind = CriterionKind.EVENT_SUM if event_type in SUMMED else CriterionKind.EVENT_COUNT
        criterion = BadgeCriterion(kind, event_type=event_type, conditions=_conditions(rng, ""))
        first = 200 if kind is CriterionKind.EVENT_SUM else 5
    elif draw < 0.85:
        criterion = BadgeCriterion(
            CriterionKind.TASK_COMPLETIONS, task_id=rng.choice(tasks).task_id
        )
        first = 1
    else:
        criterion, first = BadgeCriterion(CriterionKind.LEVEL_REACHED), rng.choice((3, 5))
    names = ("Bronze", "Silver", "Gold")
    tiers = tuple(
        BadgeTier(name, first * 4**n, (Reward(RewardKind.POINTS, 50 * (n + 1)),))
        for n, name in enumerate(names[: rng.choice((1, 2, 3))])
    )
    return BadgeDefinition(
        f"badge-{index}", f"Badge {index}", criterion, tiers,
        supply=1000 if rng.random() < 0.1 else 0, version=1,
    )  # fmt: skip


def _modifiers() -> list[Definition]:
    weekend = BoostDefinition("weekend", "Weekend", 150, weekdays=(6, 7), stack_group="calendar")
    happy = BoostDefinition(
        "happy-hour", "Happy hour", 200, starts_at=START + dt.timedelta(hours=20),
        ends_at=START + dt.timedelta(hours=22), stack_group="calendar",
    )  # fmt: skip
    third = BoostDefinition("third-buy", "Third buy", 300, event_types=("purchase",), nth_event=3)
    xp_vip = BoostDefinition(
        "vip-xp", "VIP XP", 200, reward_kinds=(RewardKind.XP,), min_level=5, stack_group="vip"
    )
    return [
        weekend, happy, third, xp_vip,
        CapDefinition("daily-points", "Daily points", CapKind.USER_PERIOD, 5000),
        CapDefinition("weekly-xp", "Weekly XP", CapKind.USER_PERIOD, 20_000,
                      reward_kind=RewardKind.XP, period=Cadence.WEEKLY),
        CapDefinition("spring", "Spring budget", CapKind.BUDGET, 10**9,
                      task_ids=("task-0", "task-1", "task-2")),
        CapDefinition("login-rate", "Logins", CapKind.VELOCITY, 3, event_type="login"),
    ]  # fmt: skip


def _definitions(rng: random.Random, task_count: int, badge_count: int) -> list[Definition]:
    tasks: list[TaskDefinition] = []
    for index in range(task_count):
        once_ids = [t.task_id for t in tasks if t.cadence is Cadence.ONCE and not t.repeatable]
        tasks.append(_task(rng, index, once_ids))
    badges = [_badge(rng, index, tasks) for index in range(badge_count)]
    levels = LevelTable(
        levels=tuple(Level(n, f"Level {n}", round(100 * (n - 1) ** 1.6)) for n in range(1, 51))
    )
    definitions: list[Definition] = [*tasks, *badges, levels, *_modifiers()]
    for definition in definitions:
        definition.validate()
    return definitions


def _user(rng: random.Random, user_id: str, rules: RuleSet) -> UserState:
    """A user part-way through most tasks and badges, in the windows the run starts in."""
    xp = rng.randrange(0, 20_000)
    level = sum(1 for level in rules.levels.levels if level.xp <= xp)
    segments = ("vip",) if rng.random() < 0.1 else ()
    profile = Profile(user_id, rng.choice(TIMEZONES), segments, xp, level)
    tasks = {}
    for task in rules.tasks.values():
        if rng.random() < 0.7:
            window = task_window(task, START, profile.timezone).window_id
            progress = rng.randrange(task.tiers[0].target)
            tasks[task.task_id] = TaskState(
                user_id, task.task_id, task.version, window, progress,
                completions=rng.randrange(2) if task.max_completions != 1 else 0,
            )  # fmt: skip
    badges = {
        badge.badge_id: BadgeState(user_id, badge.badge_id, badge.version, rng.randrange(4))
        for badge in rules.badges.values()
        if rng.random() < 0.5
    }
    return UserState(profile, tasks, badges)


def _attributes(rng: random.Random, event_type: str) -> dict[str, str]:
    attributes = {"category": rng.choice(CATEGORIES), "channel": rng.choice(("app", "web"))}
    if event_type in SUMMED:
        attributes["amount"] = str(rng.randrange(1000))
    if rng.random() < 0.3:
        attributes["campaign"] = "spring"
    return attributes


def _stream(rng: random.Random, users: list[str], count: int) -> list[Planned]:
    """`count` events over SPAN; now and then a user taps "login" in a burst."""
    planned: list[Planned] = []
    step = SPAN / count
    while len(planned) < count:
        at = START + step * len(planned)
        user = rng.choice(users)
        burst = rng.random() < 0.01
        for n in range(5 if burst else 1):
            event_type = "login" if burst else rng.choice(EVENT_TYPES)
            value = rng.randrange(1, 200) if event_type in SUMMED else rng.randrange(1, 30)
            when = at + dt.timedelta(seconds=n)
            planned.append((user, event_type, value, _attributes(rng, event_type), when))
    return planned[:count]


def _recent(history: deque[tuple[dt.datetime, str]], at: dt.datetime) -> dict[str, int]:
    while history and at - history[0][0] >= dt.timedelta(minutes=1):
        history.popleft()
    counts: dict[str, int] = {}
    for _, event_type in history:
        counts[event_type] = counts.get(event_type, 0) + 1
    return counts


def _count(tally: dict[str, int], outcome: Outcome) -> None:
    effects = outcome.effects
    tally["rejected"] += bool(effects.rejected)
    tally["task_changes"] += len(effects.task_changes)
    tally["completions"] += len(effects.completions)
    tally["badge_unlocks"] += len(effects.badges)
    tally["level_ups"] += len(effects.level_ups)
    tally["grants"] += len(effects.grants)


def _evaluate(
    rules: RuleSet, states: dict[str, UserState], stream: list[Planned], tally: dict[str, int]
) -> list[int]:
    """Evaluate every event in order, storing each outcome; the nanoseconds of each."""
    shared, clock = Shared(), time.perf_counter_ns
    histories: dict[str, deque[tuple[dt.datetime, str]]] = {u: deque() for u in states}
    timings: list[int] = []
    for n, (user, event_type, value, attributes, at) in enumerate(stream):
        history = histories[user]
        state = states[user]
        state = UserState(state.profile, state.tasks, state.badges, state.counters,
                          _recent(history, at))  # fmt: skip
        started = clock()
        event = Event(f"e{n}", user, event_type, value, attributes, at)
        outcome = evaluate_event(event, state, rules, shared, at)
        timings.append(clock() - started)
        history.append((at, event_type))
        states[user] = state if outcome.effects.rejected else state.after(outcome)
        _count(tally, outcome)
    return timings


def _noop(rules: RuleSet, stream: list[Planned]) -> float:
    """Seconds to build the same Events and look up each one's tasks, for scale."""
    found = 0
    started = time.perf_counter()
    for n, (user, event_type, value, attributes, at) in enumerate(stream):
        event = Event(f"e{n}", user, event_type, value, attributes, at)
        found += len(rules.tasks_by_event.get(event.type, ()))
    seconds = time.perf_counter() - started
    assert found > 0
    return seconds


def _percentile(ordered: list[int], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1000


def _measure(args: argparse.Namespace, command: str) -> Figures:
    rng = random.Random(args.seed)
    definitions = _definitions(rng, args.tasks, args.badges)
    rules = RuleSet.of(definitions)
    users = [f"user-{n}" for n in range(args.users)]
    states = {user: _user(rng, user, rules) for user in users}
    warmup = min(3000, args.events // 10)
    stream = _stream(rng, users, warmup + args.events)
    tally = dict.fromkeys(
        ("rejected", "task_changes", "completions", "badge_unlocks", "level_ups", "grants"), 0
    )
    _evaluate(rules, states, stream[:warmup], dict(tally))
    gc.collect()
    timings = sorted(_evaluate(rules, states, stream[warmup:], tally))
    noop = min(_noop(rules, stream[warmup:]) for _ in range(3))
    seconds = sum(timings) / 1e9
    return Figures(
        command=command, python=platform.python_version(),
        tasks=len(rules.tasks), badges=len(rules.badges), boosts=len(rules.boosts),
        caps=len(rules.caps), levels=len(rules.levels.table()), users=len(users),
        events=len(timings), seconds=round(seconds, 3),
        events_per_second=round(len(timings) / seconds, 1),
        us_per_event=round(seconds * 1e6 / len(timings), 2),
        p50_us=round(_percentile(timings, 0.50), 2), p99_us=round(_percentile(timings, 0.99), 2),
        noop_events_per_second=round(len(timings) / noop, 1),
        noop_us_per_event=round(noop * 1e6 / len(timings), 3), outcomes=tally,
    )  # fmt: skip


def _print(f: Figures) -> None:
    ratio = f.noop_events_per_second / f.events_per_second
    print(f"\n$ {f.command}")
    print(f"python {f.python}; rule set: {f.tasks} tasks, {f.badges} badges, {f.boosts} boosts, "
          f"{f.caps} caps, {f.levels} levels; {f.users:,} users")  # fmt: skip
    print(f"no-op (build the Event, look up its tasks): {f.noop_events_per_second:,.0f} events/s, "
          f"{f.noop_us_per_event:.2f} µs/event")  # fmt: skip
    print(f"evaluate_event: {f.events:,} events in {f.seconds:.2f} s = "
          f"{f.events_per_second:,.0f} events/s, {f.us_per_event:.1f} µs/event "
          f"({ratio:.0f}x the no-op's cost)")  # fmt: skip
    print(f"per event: p50 {f.p50_us:.1f} µs, p99 {f.p99_us:.1f} µs")
    print("outcomes: " + ", ".join(f"{name} {count:,}" for name, count in f.outcomes.items()))


def main() -> int:
    args = _arguments()
    command = " ".join(["python -m bench.rules", *sys.argv[1:]])
    figures = _measure(args, command)
    _print(figures)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(figures), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
