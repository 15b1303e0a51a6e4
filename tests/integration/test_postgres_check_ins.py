"""The Postgres unit of work and the check-in handlers against a real database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.adapters.postgres import migrate
from service.adapters.postgres.tables import check_ins, grant_outbox, streaks
from service.app.check_ins import handlers, programs
from service.bootstrap import App
from service.domain.check_in import CheckInProgram, Milestone
from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward, RewardKind
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

PROGRAM = CheckInProgram(
    version=0,
    cycle=tuple((Reward(RewardKind.POINTS, 10 * day),) for day in range(1, 4)),
    milestones=(Milestone(2, (Reward(RewardKind.COUPON, 1, "two-days"),)),),
    make_up_window_days=3,
    make_up_tickets_per_month=1,
)


async def _count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_fifty_concurrent_check_ins_store_one_check_in_and_one_grant(
    app: App, engine: AsyncEngine
) -> None:
    await programs.update_program(PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock)
    cmd = handlers.CheckIn("racer", "Europe/Berlin")

    results = await asyncio.gather(
        *(
            handlers.check_in(cmd, uow=app.uow(), programs=app.programs, clock=app.clock)
            for _ in range(50)
        )
    )

    assert sum(not r.already_checked_in for r in results) == 1
    assert {r.record.day for r in results} == {dt.date(2026, 3, 10)}
    assert await _count(engine, check_ins) == 1
    assert await _count(engine, grant_outbox) == 1


async def test_check_in_writes_state_record_and_grants_in_one_transaction(
    app: App, engine: AsyncEngine, clock: MovableClock
) -> None:
    await programs.update_program(PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock)
    for _ in range(2):
        await handlers.check_in(
            handlers.CheckIn("ana", "UTC"), uow=app.uow(), programs=app.programs, clock=clock
        )
        clock.advance(days=1)

    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(grant_outbox).order_by(grant_outbox.c.id))).all()
        state = (await conn.execute(sa.select(streaks))).one()
    assert [(r.kind, r.amount, r.item_code) for r in rows] == [
        ("points", 10, ""),
        ("points", 20, ""),
        ("coupon", 1, "two-days"),
    ]
    assert {r.cause_ref for r in rows} >= {"check_in:ana:2026-03-10", "check_in:ana:2026-03-11"}
    assert all(r.definition_version == 1 and r.status == "pending" for r in rows)
    assert (state.current, state.longest, state.last_day) == (2, 2, dt.date(2026, 3, 11))


async def test_rejected_input_leaves_nothing_behind(app: App, engine: AsyncEngine) -> None:
    with pytest.raises(InvalidArgument, match="timezone"):
        await handlers.check_in(
            handlers.CheckIn("nobody"), uow=app.uow(), programs=app.programs, clock=app.clock
        )

    assert await _count(engine, streaks) == 0
    assert await _count(engine, check_ins) == 0


async def test_make_up_rejoins_the_streak_and_renumbers_later_days(
    app: App, clock: MovableClock
) -> None:
    await programs.update_program(PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock)
    for day_offset in (0, 2):
        clock.current = dt.datetime(2026, 3, 10 + day_offset, 9, tzinfo=dt.UTC)
        await handlers.check_in(
            handlers.CheckIn("mo", "UTC"), uow=app.uow(), programs=app.programs, clock=clock
        )

    result = await handlers.make_up_check_in(
        handlers.MakeUpCheckIn("mo", "2026-03-11"),
        uow=app.uow(),
        programs=app.programs,
        clock=clock,
    )

    assert result.streak.current == 3
    assert [g.reward.item_code for g in result.grants] == ["two-days"]
    calendar = await handlers.get_calendar(
        handlers.GetCalendar("mo", "2026-03"), uow=app.uow(), programs=app.programs, clock=clock
    )
    statuses = {d.day.day: d.status for d in calendar.days if d.day.day in (10, 11, 12)}
    assert statuses == {10: "checked_in", 11: "made_up", 12: "checked_in"}
    async with app.uow() as uow:
        later = await uow.check_ins.get_day("mo", dt.date(2026, 3, 12))
    assert later is not None
    assert (later.streak, later.streak_started_on) == (3, dt.date(2026, 3, 10))


async def test_program_versions_increase_and_the_newest_applies(app: App) -> None:
    first = await programs.update_program(
        PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock
    )
    second = await programs.update_program(
        PROGRAM, uow=app.uow(), programs=app.programs, clock=app.clock
    )

    current = await programs.get_program(uow=app.uow())
    assert (first.version, second.version, current.version) == (1, 2, 2)
    assert current.cycle == PROGRAM.cycle
    assert current.milestones == PROGRAM.milestones
    assert current.created_at is not None


async def test_migrating_an_empty_database_reaches_the_head_revision(
    empty_database_url: str,
) -> None:
    engine = create_async_engine(empty_database_url)
    with pytest.raises(migrate.SchemaOutOfDate, match="run `engagement migrate`"):
        await migrate.ensure_at_head(engine)

    await migrate.upgrade(engine)
    await migrate.upgrade(engine)  # a second run is a no-op

    await migrate.ensure_at_head(engine)
    await engine.dispose()
