"""The benchmark's game: 50 tasks, 50 badges, levels, boosts, caps and ten boards, as protos."""

from __future__ import annotations

import datetime as dt
import random

import grpc

from service.gen.engagement.v1 import definitions_pb2 as df
from service.gen.engagement.v1 import leaderboard_pb2 as lb_pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as lb_grpc
from service.gen.engagement.v1 import rewards_pb2 as rw
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc

EVENT_TYPES = (
    "purchase", "review", "invite", "share", "login",
    "watch", "quiz", "referral", "deposit", "play",
)  # fmt: skip
# Tasks and badges on these sum the events' values; the others count events.
SUMMED = frozenset({"purchase", "deposit", "watch"})
CATEGORIES = ("books", "games", "music", "food", "travel")
# What the track_event scenario sends: 7 of the 50 tasks and about 6 badges follow it,
# and two boards are fed by it.
HOT_TYPE = "purchase"
# Segment a tenth of the seeded users hold; a few tasks and a boost target it.
VIP = "vip"
BOARD_COUNT = 10
TASK_COUNT = 50
BADGE_COUNT = 50
LEVEL_COUNT = 50
# Each type four times, then three more purchase tasks and one more for seven others.
_TASK_TYPES = EVENT_TYPES * 4 + (
    HOT_TYPE, HOT_TYPE, HOT_TYPE, "play", "quiz", "review", "watch", "deposit", "share", "login",
)  # fmt: skip
_CADENCES = (
    (df.CADENCE_DAILY, 40), (df.CADENCE_WEEKLY, 25), (df.CADENCE_ONCE, 20),
    (df.CADENCE_MONTHLY, 10), (df.CADENCE_DATE_RANGE, 5),
)  # fmt: skip
_OPS = {"in": df.CONDITION_OP_IN, "ne": df.CONDITION_OP_NE, "ge": df.CONDITION_OP_GE}
_OPS |= {"lt": df.CONDITION_OP_LT, "exists": df.CONDITION_OP_EXISTS}


def _points(amount: int) -> rw.Reward:
    return rw.Reward(kind=rw.REWARD_KIND_POINTS, amount=amount)


def _rewards(rng: random.Random, scale: int) -> list[rw.Reward]:
    rewards = [_points(scale * rng.choice((5, 10, 20)))]
    if rng.random() < 0.5:
        rewards.append(rw.Reward(kind=rw.REWARD_KIND_XP, amount=scale * rng.choice((10, 25))))
    if rng.random() < 0.15:
        code = f"coupon-{rng.randrange(20)}"
        rewards.append(rw.Reward(kind=rw.REWARD_KIND_COUPON, amount=1, item_code=code))
    return rewards


def _condition(field: str, op: str, *operands: str) -> df.Condition:
    return df.Condition(field=field, op=_OPS[op], operands=operands)


def _conditions(rng: random.Random, event_type: str) -> list[df.Condition]:
    """None, one or two of the predicates the scenarios' attributes can meet."""
    pool = [
        _condition("attributes.category", "in", *rng.sample(CATEGORIES, 3)),
        _condition("attributes.channel", "ne", "web"),
        _condition("value", "ge", str(rng.choice((5, 10, 20)))),
        _condition("attributes.campaign", "exists"),
    ]
    if event_type in SUMMED:
        pool.append(_condition("attributes.amount", "lt", "500"))
    return rng.sample(pool, rng.choice((0, 1, 1, 2)))


def _task(rng: random.Random, index: int, today: dt.date, once: list[str]) -> df.TaskDefinition:
    event_type = _TASK_TYPES[index]
    summed = event_type in SUMMED
    cadence = rng.choices([c for c, _ in _CADENCES], [w for _, w in _CADENCES])[0]
    base = rng.choice((2, 3, 5, 10)) * (50 if summed else 1)
    tiers = [
        df.TaskTier(target=base * 3**n, rewards=_rewards(rng, n + 1))
        for n in range(rng.choice((1, 1, 2, 3)))
    ]
    repeatable = cadence == df.CADENCE_ONCE and rng.random() < 0.4
    task = df.TaskDefinition(
        task_id=f"task-{index}", title=f"Task {index}", event_type=event_type, tiers=tiers,
        measure=df.MEASURE_SUM if summed else df.MEASURE_COUNT,
        conditions=_conditions(rng, event_type), cadence=cadence, week_start=rng.choice((1, 7)),
        repeatable=repeatable, max_completions=3 if repeatable else 0,
        min_level=rng.choice((0, 0, 0, 0, 3)), auto_claim=rng.random() < 0.8,
    )  # fmt: skip
    if cadence == df.CADENCE_DATE_RANGE:  # a season around the run
        task.starts_on = (today - dt.timedelta(days=30)).isoformat()
        task.ends_on = (today + dt.timedelta(days=30)).isoformat()
    if once and rng.random() < 0.1:
        task.prerequisites.append(rng.choice(once))
    if rng.random() < 0.06:
        task.segments.append(VIP)
    if rng.random() < 0.15:
        task.rollout_percent = 50
    return task


def tasks(today: dt.date) -> list[df.TaskDefinition]:
    """The 50 tasks; a prerequisite always names an earlier once-only task."""
    rng = random.Random(7)
    found: list[df.TaskDefinition] = []
    for index in range(TASK_COUNT):
        once = [t.task_id for t in found if t.cadence == df.CADENCE_ONCE and not t.repeatable]
        found.append(_task(rng, index, today, once))
    return found


def _criterion(
    rng: random.Random, index: int, task_ids: list[str]
) -> tuple[df.BadgeCriterion, int]:
    """The first 30 badges follow events, the next 12 task completions, the last 8 levels."""
    if index < 30:
        event_type = HOT_TYPE if index % 5 == 0 else rng.choice(EVENT_TYPES)
        summed = event_type in SUMMED
        kind = df.CRITERION_KIND_EVENT_SUM if summed else df.CRITERION_KIND_EVENT_COUNT
        criterion = df.BadgeCriterion(
            kind=kind, event_type=event_type, conditions=_conditions(rng, "")
        )
        return criterion, 500 if summed else 5
    if index < 42:
        task_id = rng.choice(task_ids)
        return df.BadgeCriterion(kind=df.CRITERION_KIND_TASK_COMPLETIONS, task_id=task_id), 1
    return df.BadgeCriterion(kind=df.CRITERION_KIND_LEVEL_REACHED), rng.choice((2, 3, 5))


def badges(task_ids: list[str]) -> list[df.BadgeDefinition]:
    rng = random.Random(11)
    found = []
    for index in range(BADGE_COUNT):
        criterion, first = _criterion(rng, index, task_ids)
        names = ("Bronze", "Silver", "Gold")[: rng.choice((1, 2, 3))]
        tiers = [
            df.BadgeTier(name=name, threshold=first * 4**n, rewards=[_points(50 * (n + 1))])
            for n, name in enumerate(names)
        ]
        found.append(
            df.BadgeDefinition(
                badge_id=f"badge-{index}",
                title=f"Badge {index}",
                criterion=criterion,
                tiers=tiers,
                secret=rng.random() < 0.1,
            )
        )
    return found


def levels() -> df.LevelTable:
    """50 levels on a 1.5 power curve, so that the run's XP moves users through the first
    few; every fifth grants points."""
    return df.LevelTable(
        levels=[
            df.Level(
                level=n,
                name=f"Level {n}",
                xp=round(50 * (n - 1) ** 1.5),
                rewards=[_points(100 * n)] if n % 5 == 0 else [],
            )
            for n in range(1, LEVEL_COUNT + 1)
        ]
    )


def boosts() -> list[df.BoostDefinition]:
    return [
        df.BoostDefinition(
            boost_id="weekend", title="Weekend", multiplier_percent=150, weekdays=[6, 7],
            stack_group="calendar",
        ),
        df.BoostDefinition(
            boost_id="first-purchase", title="First purchase of the day",
            multiplier_percent=200, event_types=[HOT_TYPE], nth_event=1,
            nth_period=df.CADENCE_DAILY,
        ),
        df.BoostDefinition(
            boost_id="vip-xp", title="VIP XP", multiplier_percent=200,
            reward_kinds=[rw.REWARD_KIND_XP], segments=[VIP], stack_group="vip",
        ),
    ]  # fmt: skip


def caps() -> list[df.CapDefinition]:
    """Generous per-user limits and a velocity limit the load cannot reach.

    A seeded user receives under 2,000 points and 500 XP a day over several default runs;
    300 purchases a minute per user would take 1000 users sending 5000 a second.
    """
    return [
        df.CapDefinition(
            cap_id="daily-points", title="Daily points", kind=df.CAP_KIND_USER_PERIOD,
            limit=25_000, reward_kind=rw.REWARD_KIND_POINTS, period=df.CADENCE_DAILY,
        ),
        df.CapDefinition(
            cap_id="weekly-xp", title="Weekly XP", kind=df.CAP_KIND_USER_PERIOD,
            limit=50_000, reward_kind=rw.REWARD_KIND_XP, period=df.CADENCE_WEEKLY,
        ),
        df.CapDefinition(
            cap_id="purchase-rate", title="Purchases per minute", kind=df.CAP_KIND_VELOCITY,
            limit=300, event_type=HOT_TYPE,
        ),
    ]  # fmt: skip


def definitions(today: dt.date) -> list[df.Definition]:
    """Every definition in an order that loads: tasks before what names them."""
    task_list = tasks(today)
    found = [df.Definition(task=t) for t in task_list]
    found += [df.Definition(badge=b) for b in badges([t.task_id for t in task_list])]
    found.append(df.Definition(levels=levels()))
    found += [df.Definition(boost=b) for b in boosts()]
    found += [df.Definition(cap=c) for c in caps()]
    return found


def _board(
    board_id: str,
    period: lb_pb.PeriodKind.ValueType,
    sources: tuple[str, ...] = (),
    aggregation: lb_pb.Aggregation.ValueType = lb_pb.AGGREGATION_SUM,
) -> lb_pb.Board:
    return lb_pb.Board(
        board_id=board_id, title=board_id.replace("-", " ").title(),
        sort_order=lb_pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=aggregation,
        tie_policy=lb_pb.TIE_POLICY_FIRST_TO_REACH, period=lb_pb.Period(kind=period),
        source_event_types=sources,
    )  # fmt: skip


def boards() -> list[lb_pb.Board]:
    """`bench` takes SubmitScore calls; the other nine are fed by event types, two by purchases."""
    return [
        _board("bench", lb_pb.PERIOD_KIND_ALL_TIME),
        _board("spend-weekly", lb_pb.PERIOD_KIND_WEEKLY, (HOT_TYPE,)),
        _board("spend-all-time", lb_pb.PERIOD_KIND_ALL_TIME, (HOT_TYPE,)),
        _board("deposits-monthly", lb_pb.PERIOD_KIND_MONTHLY, ("deposit",)),
        _board("quiz-daily", lb_pb.PERIOD_KIND_DAILY, ("quiz",)),
        _board("play-best", lb_pb.PERIOD_KIND_WEEKLY, ("play",), lb_pb.AGGREGATION_MAX),
        _board("watch-daily", lb_pb.PERIOD_KIND_DAILY, ("watch",)),
        _board("recruiters-monthly", lb_pb.PERIOD_KIND_MONTHLY, ("invite", "referral")),
        _board("reviews-weekly", lb_pb.PERIOD_KIND_WEEKLY, ("review",)),
        _board("shares-daily", lb_pb.PERIOD_KIND_DAILY, ("share",)),
    ]


async def load_game(channel: grpc.aio.Channel, today: dt.date) -> int:
    """Store the boards and every definition through the admin RPCs; how many definitions."""
    board_admin = lb_grpc.LeaderboardAdminServiceStub(channel)
    for board in boards():
        await board_admin.UpsertBoard(lb_pb.UpsertBoardRequest(board=board))
    rules_admin = admin_grpc.RulesAdminServiceStub(channel)
    found = definitions(today)
    for definition in found:
        await rules_admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=definition))
    return len(found)
