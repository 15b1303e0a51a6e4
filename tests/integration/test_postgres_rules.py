"""The rules engine's repositories on Postgres and in memory: definitions, user state, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.ports import UnitOfWork
from service.app.rules.ports import TaskList
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.conditions import Condition, Op
from service.domain.rules.definitions import (
    LEVELS_ID,
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
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.state import (
    BadgeState,
    Counter,
    Profile,
    TaskCompletion,
    TaskState,
    UserState,
)
from service.domain.rules.windows import Cadence
from tests.support.fakes import FakeUnitOfWork, Store
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)
BERLIN_NOON = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))

TASK = TaskDefinition(
    task_id="buy-3", title="Buy three", event_type="purchase",
    tiers=(
        TaskTier(3, (Reward(RewardKind.POINTS, 10),), badge_id="buyer"),
        TaskTier(5, (Reward(RewardKind.COUPON, 1, "five-off"),)),
    ),
    measure=Measure.SUM, conditions=(Condition("attributes.sku", Op.IN, ("a", "b")),),
    cadence=Cadence.DATE_RANGE, week_start=7, active_weekdays=(1, 3),
    starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31), repeatable=True,
    max_completions=0, prerequisites=("intro",), min_level=2, segments=("vip",),
    rollout_percent=50, auto_claim=False, description="Three purchases in March",
)  # fmt: skip
BADGE = BadgeDefinition(
    badge_id="early", title="Early bird",
    criterion=BadgeCriterion(
        CriterionKind.EVENT_COUNT, "login", (Condition("value", Op.GE, ("1",)),)
    ),
    tiers=(BadgeTier("bronze", 1, (Reward(RewardKind.XP, 5),)), BadgeTier("silver", 10)),
    available_from=BERLIN_NOON, available_until=T0, supply=100, secret=True,
    description="Log in early",
)  # fmt: skip
LEVELS = LevelTable(
    levels=(Level(1, "Rookie", 0), Level(2, "Pro", 100, (Reward(RewardKind.ITEM, 1, "hat"),)))
)
BOOST = BoostDefinition(
    boost_id="weekend", title="Weekend double", multiplier_percent=200,
    reward_kinds=(RewardKind.POINTS, RewardKind.XP), starts_at=BERLIN_NOON, ends_at=T0,
    weekdays=(6, 7), min_level=1, segments=("vip",), event_types=("purchase",),
    task_ids=("buy-3",), nth_event=2, nth_period=Cadence.DAILY, stack_group="weekend",
)  # fmt: skip
CAP = CapDefinition(
    cap_id="weekly-xp", title="Weekly XP", kind=CapKind.USER_PERIOD, limit=500,
    reward_kind=RewardKind.XP, period=Cadence.WEEKLY, task_ids=("buy-3",),
)  # fmt: skip
# A second version of each, archived; the level table's switches to the formula.
SECOND: dict[DefinitionKind, Definition] = {
    DefinitionKind.TASK: dataclasses.replace(TASK, title="Buy three!", archived=True),
    DefinitionKind.BADGE: dataclasses.replace(BADGE, supply=0, archived=True),
    DefinitionKind.LEVELS: LevelTable(base_xp=100, exponent=1.5, max_level=20, archived=True),
    DefinitionKind.BOOST: dataclasses.replace(BOOST, multiplier_percent=150, archived=True),
    DefinitionKind.CAP: dataclasses.replace(CAP, kind=CapKind.BUDGET, archived=True),
}


@pytest.fixture(params=["postgres", "memory"])
def uow(request: pytest.FixtureRequest) -> UnitOfWork:
    """Postgres, and the fake the handler tests use: the fake must behave the same."""
    if request.param == "memory":
        return FakeUnitOfWork(Store())
    return PostgresUnitOfWork(request.getfixturevalue("engine"))


async def _add(uow: UnitOfWork, definition: Definition) -> Definition:
    async with uow:
        stored = await uow.definitions.add(definition)
        await uow.commit()
    return stored


def _stored_as(definition: Definition, stored: Definition) -> Definition:
    return dataclasses.replace(definition, version=stored.version, created_at=stored.created_at)


async def test_every_kind_round_trips_exactly_through_its_versions(
    uow: UnitOfWork,
) -> None:
    for first in (TASK, BADGE, LEVELS, BOOST, CAP):
        second = SECOND[first.KIND]
        v1, v2 = await _add(uow, first), await _add(uow, second)
        assert (v1.version, v2.version, v2.archived) == (1, 2, True)
        assert v1.created_at is not None
        assert v2 == _stored_as(second, v2)

        async with uow:
            newest = await uow.definitions.get(first.KIND, first.definition_id)
        assert newest == v2

    async with uow:
        current = await uow.definitions.all_current()
        badges = await uow.definitions.list(DefinitionKind.BADGE)
        levels = await uow.definitions.get(DefinitionKind.LEVELS, LEVELS_ID)
        missing = await uow.definitions.get(DefinitionKind.TASK, "nope")
    assert sorted((d.KIND, d.version, d.archived) for d in current) == sorted(
        (kind, 2, True) for kind in DefinitionKind
    )
    assert badges == [v for v in current if isinstance(v, BadgeDefinition)]
    assert isinstance(levels, LevelTable)
    assert (levels.exponent, levels.max_level) == (1.5, 20)
    assert missing is None


async def test_instants_read_back_on_utc_and_unchanged(uow: UnitOfWork) -> None:
    stored = await _add(uow, BADGE)

    async with uow:
        badge = await uow.definitions.get(DefinitionKind.BADGE, BADGE.badge_id)
    assert isinstance(badge, BadgeDefinition)
    assert badge == _stored_as(BADGE, stored)
    assert badge.available_from == BERLIN_NOON
    assert badge.available_from is not None
    assert badge.available_from.tzinfo is dt.UTC
    assert badge.available_until == T0


async def test_list_gives_the_newest_version_of_each_id_in_id_order(
    uow: UnitOfWork,
) -> None:
    for task_id in ("zeta", "alpha", "mid"):
        await _add(uow, dataclasses.replace(TASK, task_id=task_id))
    await _add(uow, dataclasses.replace(TASK, task_id="alpha", title="Alpha v2"))
    await _add(uow, BADGE)

    async with uow:
        tasks = await uow.definitions.list(DefinitionKind.TASK)
    assert [(t.definition_id, t.version) for t in tasks] == [("alpha", 2), ("mid", 1), ("zeta", 1)]
    assert isinstance(tasks[0], TaskDefinition)
    assert tasks[0].title == "Alpha v2"


async def test_concurrent_versions_of_one_id_are_all_distinct(engine: AsyncEngine) -> None:
    results = await asyncio.gather(*(_add(PostgresUnitOfWork(engine), TASK) for _ in range(12)))

    assert sorted(r.version for r in results) == list(range(1, 13))


async def test_lock_profile_creates_users_and_replaces_only_a_given_timezone(
    uow: UnitOfWork,
) -> None:
    async with uow:
        new = await uow.rule_state.lock_profile("ana", "")
        zoned = await uow.rule_state.lock_profile("bo", "Europe/Berlin")
        await uow.commit()
    assert new == Profile("ana")  # UTC by default, and not set: check-ins need one
    assert new.stored_timezone == ""
    assert zoned == Profile("bo").with_timezone("Europe/Berlin")

    async with uow:
        kept = await uow.rule_state.lock_profile("bo", "")
        moved = await uow.rule_state.lock_profile("ana", "Asia/Tokyo")
        await uow.rule_state.save_profile(dataclasses.replace(moved, xp=120, level=2))
        await uow.rule_state.save_profile(Profile("cy", "UTC", ("vip", "beta"), 7, 1))
        await uow.commit()

    async with uow:
        assert kept.timezone == "Europe/Berlin"
        assert await uow.rule_state.get_profile("ana") == Profile(
            "ana", "Asia/Tokyo", (), 120, 2, timezone_set=True
        )
        assert await uow.rule_state.get_profile("nobody") is None
        profiles = await uow.rule_state.profiles(["cy", "bo", "nobody"])
        assert profiles == {"cy": Profile("cy", "UTC", ("vip", "beta"), 7, 1), "bo": kept}
        assert await uow.rule_state.user_count() == 3


async def test_a_locked_profile_holds_off_the_next_event_of_that_user(
    engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(engine)

    async def second_event() -> Profile:
        async with PostgresUnitOfWork(engine) as other:
            return await other.rule_state.lock_profile("ana", "")

    async with uow:
        await uow.rule_state.lock_profile("ana", "UTC")
        waiting = asyncio.create_task(second_event())
        await wait_until(lambda: _waits_on_a_lock(engine), what="the second lock to wait")
        assert not waiting.done()
        await uow.rule_state.save_profile(Profile("ana", xp=5))
        await uow.commit()

    assert (await waiting).xp == 5


async def _waits_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.execute(
            sa.text(
                "select count(*) from pg_stat_activity"
                " where datname = current_database() and wait_event_type = 'Lock'"
            )
        )
        return bool(waiting.scalar_one())


def _state(user_id: str, progress: int, earned_at: dt.datetime | None) -> UserState:
    return UserState(
        profile=Profile(user_id),
        tasks={
            "buy-3": TaskState(user_id, "buy-3", 1, "once", progress, 1, 0),
            "daily": TaskState(user_id, "daily", 2, "2026-03-10", 1),
        },
        badges={
            "early": BadgeState(user_id, "early", 1, progress, 1, earned_at),
            "big": BadgeState(user_id, "big", 3, 2, 1),
        },
        counters={"cap:weekly-xp": Counter("cap:weekly-xp", "week-2026-03-09", progress * 10)},
    )


def _completion(user_id: str, run: int, tier: int) -> TaskCompletion:
    return TaskCompletion(
        user_id, "buy-3", 1, run, tier, "once",
        (Reward(RewardKind.POINTS, 10), Reward(RewardKind.COUPON, 1, "five-off")),
        T0 + dt.timedelta(minutes=run), f"event-{run}-{tier}",
    )  # fmt: skip


async def test_save_then_load_gives_back_the_users_rows_only(uow: UnitOfWork) -> None:
    first = _state("ana", 2, BERLIN_NOON)
    async with uow:
        await uow.rule_state.save([first], [_completion("ana", 1, 1)])
        await uow.rule_state.save([_state("bo", 9, None)], [])
        await uow.commit()
    async with uow:
        loaded = await uow.rule_state.load(Profile("ana"), [], T0)
    assert loaded == first
    assert loaded.badges["early"].earned_at is not None
    assert loaded.badges["early"].earned_at.tzinfo is dt.UTC

    # Only changed rows are passed; the others stay as they were.
    changed = dataclasses.replace(
        first,
        tasks={"buy-3": TaskState("ana", "buy-3", 2, "once", 3, 2, 1)},
        badges={"early": BadgeState("ana", "early", 2, 3, 2, T0)},
        counters={"cap:weekly-xp": Counter("cap:weekly-xp", "week-2026-03-16", 5)},
    )
    async with uow:
        await uow.rule_state.save([changed], [_completion("ana", 1, 2)])
        await uow.commit()
    async with uow:
        loaded = await uow.rule_state.load(Profile("ana"), [], T0)
        completions = await uow.rule_state.completions("ana", "buy-3")
    assert loaded.tasks == {**first.tasks, **changed.tasks}
    assert loaded.badges == {**first.badges, **changed.badges}
    assert loaded.counters == changed.counters
    assert completions == [_completion("ana", 1, 1), _completion("ana", 1, 2)]


async def test_shared_supply_and_budgets_are_exact(uow: UnitOfWork) -> None:
    async with uow:
        shared = await uow.rule_state.lock_shared({"early": 3}, {"budget": 100})
        await uow.rule_state.consume_shared(["early", "early"], {"budget": 40})
        await uow.commit()
    assert (shared.supply_left, shared.budget_left) == ({"early": 3}, {"budget": 100})

    async with uow:
        shared = await uow.rule_state.lock_shared({"early": 3, "late": 1}, {"budget": 100})
        await uow.rule_state.consume_shared(["early", "late"], {"budget": 70})
        await uow.commit()
    assert (shared.supply_left, shared.budget_left) == ({"early": 1, "late": 1}, {"budget": 60})

    async with uow:
        shared = await uow.rule_state.lock_shared({"early": 3, "late": 1}, {"budget": 100})
        nothing = await uow.rule_state.lock_shared({}, {})
    assert (shared.supply_left, shared.budget_left) == ({"early": 0, "late": 0}, {"budget": 0})
    assert (nothing.supply_left, nothing.budget_left) == ({}, {})


async def test_concurrent_claims_never_take_more_than_the_supply(engine: AsyncEngine) -> None:
    async def claim(user: int) -> bool:
        async with PostgresUnitOfWork(engine) as uow:
            shared = await uow.rule_state.lock_shared({"rare": 5}, {"pot": 1000})
            if not shared.supply_left["rare"]:
                return False
            await uow.rule_state.consume_shared(["rare"], {"pot": 150})
            await uow.commit()
            return True

    won = await asyncio.gather(*(claim(user) for user in range(20)))

    assert sum(won) == 5
    async with PostgresUnitOfWork(engine) as uow:
        shared = await uow.rule_state.lock_shared({"rare": 5}, {"pot": 1000})
    assert (shared.supply_left, shared.budget_left) == ({"rare": 0}, {"pot": 250})


async def test_claiming_locks_waiting_completions_and_keeps_the_first_claim_time(
    uow: UnitOfWork,
) -> None:
    state = UserState(Profile("ana"))
    done = [_completion("ana", run, tier) for run, tier in ((2, 1), (1, 2), (1, 1))]
    async with uow:
        await uow.rule_state.save([state], [*done, _completion("bo", 1, 1)])
        await uow.commit()

    async with uow:
        waiting = await uow.rule_state.lock_unclaimed("ana", "buy-3")
        await uow.rule_state.mark_claimed(waiting[:2], T0)
        await uow.commit()
    assert [(c.run, c.tier) for c in waiting] == [(1, 1), (1, 2), (2, 1)]

    later = T0 + dt.timedelta(hours=1)
    async with uow:
        await uow.rule_state.mark_claimed(waiting, later)
        counts = await uow.rule_state.unclaimed_counts("ana")
        await uow.commit()
    async with uow:
        claimed = await uow.rule_state.completions("ana", "buy-3")
        assert await uow.rule_state.lock_unclaimed("ana", "buy-3") == []
    assert counts == {}
    assert [c.claimed_at for c in claimed] == [T0, T0, later]


async def test_badge_holders_count_users_with_a_tier(uow: UnitOfWork) -> None:
    async with uow:
        await uow.rule_state.save([_state("ana", 1, T0)], [])
        await uow.rule_state.save([_state("bo", 1, T0)], [])
        locked = UserState(Profile("cy"), badges={"early": BadgeState("cy", "early", 1, 5)})
        await uow.rule_state.save([locked], [_completion("cy", 1, 1)])
        await uow.commit()

    async with uow:
        assert await uow.rule_state.badge_holders() == {"early": 2, "big": 2}
        assert await uow.rule_state.badge_states("cy") == locked.badges
        assert await uow.rule_state.unclaimed_counts("cy") == {"buy-3": 1}


async def test_a_task_list_reads_profile_tasks_and_waiting_tiers_in_one_statement(
    uow: UnitOfWork,
) -> None:
    ana = _state("ana", 2, T0)
    async with uow:
        await uow.rule_state.lock_profile("ana", "Europe/Berlin")
        await uow.rule_state.save([ana, _state("bo", 5, T0)], [_completion("ana", 1, 1)])
        await uow.rule_state.save([], [_completion("ana", 1, 2), _completion("bo", 1, 1)])
        await uow.commit()

    async with uow:
        listed = await uow.rule_state.task_list("ana")
        unknown = await uow.rule_state.task_list("nobody")
    assert (listed.profile.user_id, listed.profile.timezone) == ("ana", "Europe/Berlin")
    assert (listed.tasks, listed.unclaimed) == (ana.tasks, {"buy-3": 2})
    assert unknown == TaskList(Profile("nobody"), {}, {})
