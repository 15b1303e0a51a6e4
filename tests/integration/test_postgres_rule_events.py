"""The rules engine's event record, on Postgres and in memory: idempotency, velocity, replay."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.rules.event_repository import REPLAY_BATCH
from service.adapters.postgres.rules.tables import rule_events
from service.adapters.postgres.uow import PostgresUnitOfWork
from service.app.ports import UnitOfWork
from service.app.rules.ports import EventStatus, StoredEvent
from service.domain.rewards import Grant, Reward, RewardKind
from service.domain.rules.state import (
    BadgeUnlock,
    Effects,
    Event,
    LevelUp,
    Profile,
    TaskChange,
    TaskCompletion,
)
from tests.support.fakes import FakeUnitOfWork, Store

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)
TOKYO = dt.timezone(dt.timedelta(hours=9))

EFFECTS = Effects(
    task_changes=(
        TaskChange("buy-3", 2, "2026-03-10", 3, 5, 1, dt.datetime(2026, 3, 11, tzinfo=TOKYO)),
        TaskChange("once", 1, "once", 1, 1, 1, None),
    ),
    completions=(
        TaskCompletion(
            "ana",
            "buy-3",
            2,
            1,
            1,
            "2026-03-10",
            (Reward(RewardKind.COUPON, 1, "five-off"),),
            T0,
            "order-1",
        ),
    ),
    badges=(BadgeUnlock("early", 1, 1, "bronze"),),
    level_ups=(LevelUp(2, "Pro"),),
    board_submissions=("daily", "weekly"),
    grants=(
        Grant(
            "task:buy-3:ana:run-1:tier-1",
            "ana",
            Reward(RewardKind.POINTS, 10),
            "Buy three",
            "task",
            "task:buy-3:ana:run-1:tier-1",
            2,
        ),
    ),
)


async def _add(uow: UnitOfWork, stored: StoredEvent) -> bool:
    return stored.event.idempotency_key in await uow.events.add_many([stored])


def stored_event(
    key: str,
    user_id: str = "ana",
    event_type: str = "purchase",
    received_at: dt.datetime = T0,
    *,
    occurred_at: dt.datetime = T0,
    status: EventStatus = EventStatus.APPLIED,
) -> StoredEvent:
    event = Event(key, user_id, event_type, 42, {"sku": "a", "shop": "web"}, occurred_at)
    rejected = "cap:weekly-xp" if status is EventStatus.REJECTED else ""
    return StoredEvent(event, received_at, status, dataclasses.replace(EFFECTS, rejected=rejected))


@pytest.fixture(params=["postgres", "memory"])
def uow(request: pytest.FixtureRequest) -> UnitOfWork:
    """Postgres, and the fake the handler tests use: the fake must behave the same."""
    if request.param == "memory":
        return FakeUnitOfWork(Store())
    return PostgresUnitOfWork(request.getfixturevalue("engine"))


async def test_an_event_reads_back_exactly_and_its_key_is_stored_once(uow: UnitOfWork) -> None:
    first = stored_event("order-1")
    again = dataclasses.replace(first, effects=Effects(rejected="other"))
    async with uow:
        assert await _add(uow, first)
        assert not await _add(uow, again)
        await uow.commit()

    async with uow:
        got = (await uow.events.get_many(["order-1"])).get("order-1")
        assert (await uow.events.get_many(["order-2"])).get("order-2") is None
    assert got == first
    assert got.effects.task_changes[0].window_end is not None
    assert got.effects.task_changes[0].window_end.tzinfo is dt.UTC


async def test_a_rejected_event_is_flagged_for_review_with_its_reason(
    engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(engine)
    rejected = stored_event("order-9", status=EventStatus.REJECTED)
    async with uow:
        await _add(uow, rejected)
        await _add(uow, stored_event("order-10"))
        await uow.commit()

    async with uow:
        assert (await uow.events.get_many(["order-9"])).get("order-9") == rejected
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(rule_events).order_by(rule_events.c.id))).all()
    assert [(r.status, r.review, r.reason) for r in rows] == [
        ("rejected", True, "cap:weekly-xp"),
        ("applied", False, ""),
    ]


async def test_latest_is_the_users_last_received_event_of_the_type(
    uow: UnitOfWork,
) -> None:
    sent = [
        stored_event("a", received_at=T0),
        stored_event("b", received_at=T0 + dt.timedelta(seconds=5)),
        stored_event("c", received_at=T0 - dt.timedelta(seconds=5)),
        stored_event("d", event_type="login", received_at=T0 + dt.timedelta(hours=1)),
        stored_event("e", user_id="bo", received_at=T0 + dt.timedelta(hours=1)),
    ]
    async with uow:
        for stored in sent:
            await _add(uow, stored)
        await uow.commit()

    async with uow:
        latest = await uow.events.latest("ana", "purchase")
        assert await uow.events.latest("ana", "review") is None
    assert latest == sent[1]


async def test_load_counts_the_users_recent_events_of_the_velocity_types(
    uow: UnitOfWork,
) -> None:
    sent = [
        ("ana", "purchase", T0), ("ana", "purchase", T0 + dt.timedelta(seconds=30)),
        ("ana", "purchase", T0 - dt.timedelta(microseconds=1)), ("ana", "login", T0),
        ("ana", "review", T0), ("bo", "purchase", T0),
    ]  # fmt: skip
    async with uow:
        for n, (user_id, event_type, received_at) in enumerate(sent):
            await _add(uow, stored_event(f"k{n}", user_id, event_type, received_at))
        await _add(uow, stored_event("k-rejected", status=EventStatus.REJECTED))
        await uow.commit()

    async with uow:
        state = await uow.rule_state.load(Profile("ana"), ["purchase", "login", "share"], T0)
    # A rejected event was sent all the same: it counts.
    assert state.recent_events == {"purchase": 3, "login": 1, "share": 0}


def _row(n: int, event: Event, status: EventStatus) -> dict[str, object]:
    rejected = status is EventStatus.REJECTED
    return {
        "idempotency_key": event.idempotency_key, "user_id": event.user_id,
        "type": event.type, "value": event.value, "attributes": dict(event.attributes),
        "occurred_at": event.occurred_at, "received_at": T0, "status": str(status),
        "review": rejected, "reason": "cap:x" if rejected else "", "effects": {},
    }  # fmt: skip


async def test_replay_pages_through_applied_events_by_user_then_occurrence(
    engine: AsyncEngine,
) -> None:
    uow = PostgresUnitOfWork(engine)
    shuffle = random.Random(7)
    since = T0 - dt.timedelta(days=3)
    sent = [
        Event(
            f"e{n}", f"user-{shuffle.randrange(7)}", shuffle.choice(["purchase", "login", "share"]),
            n, {"n": str(n)},
            # Few distinct instants: many ties, which the id (here n) breaks.
            since + dt.timedelta(hours=shuffle.randrange(-12, 60)),
        )
        for n in range(2 * REPLAY_BATCH + 500)
    ]  # fmt: skip
    statuses = [
        EventStatus.REJECTED if n % 50 == 0 else EventStatus.APPLIED for n in range(len(sent))
    ]
    async with engine.begin() as conn:
        rows = [_row(n, e, s) for n, (e, s) in enumerate(zip(sent, statuses, strict=True))]
        await conn.execute(sa.insert(rule_events), rows)
    wanted = sorted(
        (e for e, s in zip(sent, statuses, strict=True)
         if s is EventStatus.APPLIED and e.type != "share" and e.occurred_at >= since),
        key=lambda e: (e.user_id, e.occurred_at, e.value),
    )  # fmt: skip

    async with uow:
        replayed = [e async for e in uow.events.replay(["purchase", "login"], since)]
        uow.events.replay_batch = 7
        small_pages = [e async for e in uow.events.replay(["purchase", "login"], since)]

    assert len(wanted) > REPLAY_BATCH
    assert replayed == wanted
    assert small_pages == wanted


async def test_replay_of_nothing_yields_nothing(uow: UnitOfWork) -> None:
    async with uow:
        await _add(uow, stored_event("only", event_type="login"))
        assert [e async for e in uow.events.replay(["purchase"], T0)] == []
        assert [e async for e in uow.events.replay([], T0)] == []
