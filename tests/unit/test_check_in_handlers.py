"""Check-in handlers over in-memory adapters: transactions, idempotency, rejected input."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app.check_ins import handlers, programs
from service.domain.check_in import CheckInProgram
from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward, RewardKind
from tests.support.clock import MovableClock
from tests.support.fakes import FakeUnitOfWork, Store, fake_programs

PROGRAM = CheckInProgram(
    version=0,
    cycle=((Reward(RewardKind.POINTS, 5),), (Reward(RewardKind.POINTS, 15),)),
    make_up_window_days=2,
    make_up_tickets_per_month=1,
)


@pytest.fixture
async def store(clock: MovableClock) -> Store:
    store = Store()
    await programs.update_program(
        PROGRAM, uow=FakeUnitOfWork(store), programs=fake_programs(store), clock=clock
    )
    return store


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC))


async def _check_in(store: Store, clock: MovableClock, tz: str = "") -> handlers.CheckInResult:
    return await handlers.check_in(
        handlers.CheckIn("kim", tz),
        uow=FakeUnitOfWork(store),
        programs=fake_programs(store),
        clock=clock,
    )


async def test_a_check_in_commits_state_day_and_grant_together(
    store: Store, clock: MovableClock
) -> None:
    result = await _check_in(store, clock, "Europe/Paris")

    assert result.record.day == dt.date(2026, 2, 1)  # 00:30 in Paris
    assert store.commits == 2  # the program, then the check-in
    assert store.streaks["kim"].last_day == dt.date(2026, 2, 1)
    assert list(store.outbox) == ["check_in:kim:2026-02-01:cycle:0"]


async def test_a_repeat_the_same_local_day_commits_nothing(
    store: Store, clock: MovableClock
) -> None:
    first = await _check_in(store, clock, "Europe/Paris")
    clock.advance(hours=20)
    repeat = await _check_in(store, clock)

    assert repeat.already_checked_in
    assert repeat.record == first.record
    assert repeat.grants == ()
    assert store.commits == 2


async def test_the_stored_timezone_is_used_when_none_is_given(
    store: Store, clock: MovableClock
) -> None:
    await _check_in(store, clock, "Asia/Tokyo")
    clock.advance(days=1)

    second = await _check_in(store, clock)

    assert second.record.timezone == "Asia/Tokyo"
    assert second.streak.current == 2


async def test_a_repeat_keeps_the_stored_timezone_and_a_new_check_in_stores_its_own(
    store: Store, clock: MovableClock
) -> None:
    await _check_in(store, clock, "Europe/Paris")  # 1 February, 00:30 in Paris
    clock.advance(hours=1)  # still 31 January in New York: the day is checked in already

    repeat = await _check_in(store, clock, "America/New_York")

    assert repeat.already_checked_in
    assert repeat.streak.timezone == "Europe/Paris"
    assert store.streaks["kim"].timezone == "Europe/Paris"
    clock.advance(days=2)
    moved = await _check_in(store, clock, "America/New_York")
    assert not moved.already_checked_in
    assert store.streaks["kim"].timezone == "America/New_York"


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (handlers.CheckIn("kim"), "timezone"),
        (handlers.CheckIn("kim", "Nowhere/City"), "timezone"),
        (handlers.CheckIn("", "UTC"), "user_id"),
    ],
)
async def test_rejected_check_ins_leave_no_trace(
    store: Store, clock: MovableClock, cmd: handlers.CheckIn, field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await handlers.check_in(
            cmd, uow=FakeUnitOfWork(store), programs=fake_programs(store), clock=clock
        )

    assert raised.value.field == field
    assert store.streaks == {}
    assert store.days == {}
    assert store.commits == 1


async def test_a_rejected_make_up_spends_no_ticket(store: Store, clock: MovableClock) -> None:
    await _check_in(store, clock, "UTC")
    clock.advance(days=2)

    with pytest.raises(InvalidArgument, match="day"):
        await handlers.make_up_check_in(
            handlers.MakeUpCheckIn("kim", "2026-01-01"),
            uow=FakeUnitOfWork(store),
            programs=fake_programs(store),
            clock=clock,
        )
    made_up = await handlers.make_up_check_in(
        handlers.MakeUpCheckIn("kim", "2026-02-01"),
        uow=FakeUnitOfWork(store),
        programs=fake_programs(store),
        clock=clock,
    )

    assert made_up.streak.current == 2
    assert made_up.streak.make_up_tickets == 0


async def test_the_calendar_defaults_to_the_current_local_month(
    store: Store, clock: MovableClock
) -> None:
    result = await handlers.get_calendar(
        handlers.GetCalendar("kim", timezone="America/New_York"),
        uow=FakeUnitOfWork(store),
        programs=fake_programs(store),
        clock=clock,
    )

    assert result.month == dt.date(2026, 1, 1)
    assert len(result.days) == 31
    assert result.today_rewards == (Reward(RewardKind.POINTS, 5),)
