"""Group commit of TrackEvent: concurrent calls share transactions, never each other's fate."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.boards import definitions as boards
from service.app.ports import UnitOfWork
from service.app.rules import definitions, events
from service.app.rules.events import EventIntake
from service.app.rules.views import Tracked, TrackEvent
from service.bootstrap import App, build_app
from service.domain.boards import Aggregation, BoardDefinition, PeriodKind, SortOrder, TiePolicy
from service.domain.errors import FailedPrecondition, InvalidArgument
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.definitions import TaskDefinition, TaskTier
from service.entrypoints.grpc_api.errors import is_unavailable
from service.settings import Settings
from tests.support.clock import MovableClock
from tests.support.units import CountingUnitsOfWork

pytestmark = pytest.mark.integration

FIRST_BUY = TaskDefinition(
    "first-buy", "First buy", "purchase", (TaskTier(1, (Reward(RewardKind.POINTS, 5),)),)
)


async def _rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(f"select count(*) from {table}"))).scalar_one())


async def _track_all(intake: EventIntake, cmds: list[TrackEvent]) -> list[Tracked | BaseException]:
    return await asyncio.gather(*(intake.track(cmd) for cmd in cmds), return_exceptions=True)


async def test_concurrent_calls_share_transactions(app: App, engine: AsyncEngine) -> None:
    await definitions.upsert_definition(FIRST_BUY, uow=app.uow(), rules=app.rules)
    units = CountingUnitsOfWork(engine)
    intake = EventIntake(units, app.rules, max_group=32)
    cmds = [TrackEvent(f"u{n:03}", "purchase", f"k{n}") for n in range(100)]

    results = await _track_all(intake, cmds)

    assert all(isinstance(r, Tracked) and len(r.effects.grants) == 1 for r in results)
    assert [r.effects.grants[0].user_id for r in results if isinstance(r, Tracked)] == [
        c.user_id for c in cmds
    ]
    assert units.made <= 10
    assert await _rows(engine, "grant_outbox") == 100
    assert await _rows(engine, "rule_events") == 100


async def test_one_key_sent_concurrently_is_applied_once(app: App, engine: AsyncEngine) -> None:
    await definitions.upsert_definition(FIRST_BUY, uow=app.uow(), rules=app.rules)
    intake = EventIntake(app.uow, app.rules)

    results = await _track_all(intake, [TrackEvent("ana", "purchase", "same")] * 20)

    tracked = [r for r in results if isinstance(r, Tracked)]
    assert len(tracked) == 20
    assert sum(not r.duplicate for r in tracked) == 1
    assert await _rows(engine, "grant_outbox") == 1


async def test_a_misused_key_fails_only_its_own_call(app: App, engine: AsyncEngine) -> None:
    intake = EventIntake(app.uow, app.rules)
    cmds = [
        TrackEvent("ana", "purchase", "k1", value=1),
        TrackEvent("ana", "purchase", "k1", value=2),
        TrackEvent("bob", "purchase", "k1", value=1),
        TrackEvent("cy", "purchase", "k2"),
    ]

    results = await _track_all(intake, cmds)

    assert isinstance(results[0], Tracked)
    assert isinstance(results[1], FailedPrecondition)
    assert "different event" in str(results[1])
    assert isinstance(results[2], FailedPrecondition)
    assert "another user" in str(results[2])
    assert isinstance(results[3], Tracked)
    assert await _rows(engine, "rule_events") == 2


async def test_a_store_failure_fails_the_whole_group_and_stores_nothing(
    app: App, engine: AsyncEngine
) -> None:
    units = CountingUnitsOfWork(engine, failing=1)
    intake = EventIntake(units, app.rules)
    cmds = [TrackEvent(f"u{n}", "purchase", f"k{n}") for n in range(5)]

    results = await _track_all(intake, cmds)
    again = await _track_all(intake, cmds)

    assert all(isinstance(r, OSError) for r in results)
    assert all(isinstance(r, Tracked) and not r.duplicate for r in again)
    assert units.made == 2
    assert await _rows(engine, "rule_events") == 5


async def test_one_events_fault_is_retried_alone(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    # Event values as large as board scores, so that one can take a total out of range.
    app = build_app(settings.model_copy(update={"event_max_value": 2**53}), clock=clock)
    try:
        await _one_fault_among_three(app, engine)
    finally:
        await app.close()


async def _one_fault_among_three(app: App, engine: AsyncEngine) -> None:
    board = BoardDefinition(
        "steps", "Steps", SortOrder.HIGHER_IS_BETTER, Aggregation.SUM, TiePolicy.DENSE,
        PeriodKind.ALL_TIME, source_event_types=("walk",),
    )  # fmt: skip
    await boards.upsert_board(board, uow=app.uow(), catalog=app.boards.catalog, clock=app.clock)
    intake = EventIntake(app.uow, app.rules)
    cmds = [
        TrackEvent("ana", "walk", "k1", 2**53),
        TrackEvent("ana", "walk", "k2", 1),  # the total would pass 2^53
        TrackEvent("bob", "walk", "k3", 5),
    ]

    results = await _track_all(intake, cmds)

    assert isinstance(results[0], Tracked)
    assert isinstance(results[1], InvalidArgument)
    assert "beyond" in str(results[1])
    assert isinstance(results[2], Tracked)
    assert await _rows(engine, "rule_events") == 2


class PoisonedUnitsOfWork:
    """Postgres units of work whose event writes raise an error no code knows of whenever
    the event keyed `poison` is among them; counts the units handed out."""

    def __init__(self, engine: AsyncEngine, poison: str) -> None:
        self.engine, self.poison, self.made = engine, poison, 0

    def __call__(self) -> UnitOfWork:
        self.made += 1
        return _Poisoned(self.engine, self.poison)


class _Poisoned(PostgresUnitOfWork):
    def __init__(self, engine: AsyncEngine, poison: str) -> None:
        super().__init__(engine)
        self.poison = poison

    async def commit(self) -> None:
        # The poisoned event's record is written in this transaction when it is in the group.
        if await self.events.get_many([self.poison]):
            raise RuntimeError("a failure nobody anticipated")
        await super().commit()


async def test_an_unknown_failure_of_one_event_fails_only_its_call(
    app: App, engine: AsyncEngine
) -> None:
    await definitions.upsert_definition(FIRST_BUY, uow=app.uow(), rules=app.rules)
    units = PoisonedUnitsOfWork(engine, "k17")
    intake = EventIntake(units, app.rules)
    cmds = [TrackEvent(f"u{n:02}", "purchase", f"k{n}") for n in range(40)]

    results = await _track_all(intake, cmds)

    assert isinstance(results[17], RuntimeError)
    assert [n for n, r in enumerate(results) if not isinstance(r, Tracked)] == [17]
    assert await _rows(engine, "rule_events") == 39
    assert await _rows(engine, "grant_outbox") == 39
    assert units.made <= 2 + 2 * (40).bit_length()  # bisection: two per level, not 40


async def test_events_postgres_refuses_fail_only_their_own_calls(
    app: App, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even attribute values the validation misses cost the others nothing."""
    monkeypatch.setattr(events, "_attributes", lambda attributes: dict(attributes or {}))
    await definitions.upsert_definition(FIRST_BUY, uow=app.uow(), rules=app.rules)
    intake = EventIntake(app.uow, app.rules)
    hostile = {5, 20, 33}
    cmds = [
        TrackEvent(
            f"u{n:02}",
            "purchase",
            f"k{n}",
            attributes={"category": "bo\x00oks" if n in hostile else "books"},
        )
        for n in range(43)
    ]

    results = await _track_all(intake, cmds)

    assert {n for n, r in enumerate(results) if not isinstance(r, Tracked)} == hostile
    assert await _rows(engine, "rule_events") == 40
    assert await _rows(engine, "grant_outbox") == 40


async def test_a_failure_of_every_event_fails_each_alone(app: App, engine: AsyncEngine) -> None:
    units = _Unknown(engine)
    intake = EventIntake(units, app.rules, max_group=64, groups_in_flight=1)
    cmds = [TrackEvent(f"u{n:02}", "purchase", f"k{n}") for n in range(64)]

    results = await _track_all(intake, cmds)

    assert all(isinstance(r, RuntimeError) for r in results)
    assert units.made == 2 * 64 - 1  # every split of the bisection, down to single events
    assert await _rows(engine, "rule_events") == 0


class _Unknown:
    """Units of work whose every commit fails with an error no code knows of."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.made = engine, 0

    def __call__(self) -> UnitOfWork:
        self.made += 1
        return _FailsUnknowably(self.engine)


class _FailsUnknowably(PostgresUnitOfWork):
    async def commit(self) -> None:
        raise RuntimeError("a failure nobody anticipated")


class _LostConnection(PostgresUnitOfWork):
    async def commit(self) -> None:
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )


async def test_a_lost_store_fails_the_group_at_once_without_splitting(
    app: App, engine: AsyncEngine
) -> None:
    made = 0

    def units() -> UnitOfWork:
        nonlocal made
        made += 1
        return _LostConnection(engine)

    intake = EventIntake(
        units, app.rules, max_group=64, groups_in_flight=1, unavailable=is_unavailable
    )
    cmds = [TrackEvent(f"u{n:02}", "purchase", f"k{n}") for n in range(64)]

    results = await _track_all(intake, cmds)

    assert all(isinstance(r, asyncpg.ConnectionDoesNotExistError) for r in results)
    assert made == 1


async def _state(engine: AsyncEngine) -> list[tuple[str, int]]:
    """Every table's rows, hashed: equal before and after exactly when nothing changed."""
    from service.adapters.postgres.schema import metadata  # noqa: PLC0415

    query = " union all ".join(
        f"select '{t.name}', coalesce(sum(hashtextextended(x::text, 0)), 0) from \"{t.name}\" x"
        for t in metadata.sorted_tables
    )
    async with engine.connect() as conn:
        return [(str(name), int(digest)) for name, digest in await conn.execute(sa.text(query))]


@pytest.mark.parametrize("user", ["ann", "bob"])
async def test_an_event_refused_for_its_reused_key_changes_nothing(
    app: App, engine: AsyncEngine, clock: MovableClock, user: str
) -> None:
    await definitions.upsert_definition(FIRST_BUY, uow=app.uow(), rules=app.rules)
    await app.events.track(TrackEvent("ann", "purchase", "order-1"))
    before = await _state(engine)
    clock.advance(minutes=5)

    with pytest.raises(FailedPrecondition):
        await app.events.track(
            TrackEvent(user, "purchase", "order-1", value=7, timezone="Asia/Tokyo")
        )

    assert await _state(engine) == before
