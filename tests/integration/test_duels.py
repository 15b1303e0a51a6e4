"""Duels on real Postgres: outcomes and draws, declines and expiry, limits, settlement once."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.tables import grant_outbox
from service.app.rules import events
from service.app.rules.views import TrackEvent
from service.app.social import duel_settlement, duels
from service.bootstrap import App
from service.domain.duels import SETTLEMENT_GRACE, Duel, DuelState, DuelType
from service.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.definitions import Measure
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

HOUR = dt.timedelta(hours=1)
STEPS = DuelType(
    "steps", "Step duel", ("walk", "run"), Measure.SUM, window=dt.timedelta(days=1),
    respond_within=HOUR, winner_rewards=(Reward(RewardKind.POINTS, 100),),
    participation_rewards=(Reward(RewardKind.POINTS, 10),),
    draw_rewards=(Reward(RewardKind.POINTS, 30),), max_open_per_user=2,
)  # fmt: skip


async def _setup(app: App, duel_type: DuelType = STEPS) -> None:
    await duels.upsert_duel_type(duel_type, uow=app.uow(), clock=app.clock)


async def _challenge(app: App, a: str = "ann", b: str = "bob", key: str = "k1") -> Duel:
    cmd = duels.CreateDuel(a, b, "steps", key)
    return (await duels.create_duel(cmd, uow=app.uow(), clock=app.clock)).duel


async def _respond(app: App, duel: Duel, user: str = "bob", accept: bool = True) -> Duel:
    return await duels.respond_to_duel(duel.duel_id, user, accept, uow=app.uow(), clock=app.clock)


async def _event(app: App, user: str, key: str, value: int, kind: str = "walk") -> None:
    cmd = TrackEvent(user, kind, key, value)
    await events.track_event(cmd, uow=app.uow(), rules=app.rules)


async def _settle(app: App) -> int:
    return await duel_settlement.settle_due(uow=app.uow(), now=app.clock.now())


async def _grants(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    t = grant_outbox.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(t.user_id, t.idempotency_key, t.amount).order_by(t.idempotency_key)
        )
        return [(r.user_id, r.idempotency_key, r.amount) for r in rows]


def _end(clock: MovableClock) -> None:
    clock.advance(days=1, seconds=SETTLEMENT_GRACE.total_seconds() + 1)


async def test_the_winner_gains_and_both_get_the_participation_reward(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _setup(app)
    duel = await _challenge(app)
    await _event(app, "ann", "before", 1000)  # before acceptance: does not count
    clock.advance(minutes=5)
    await _respond(app, duel)
    await _event(app, "ann", "a1", 300)
    await _event(app, "ann", "a2", 200, kind="run")
    await _event(app, "ann", "other", 999, kind="swim")  # not a duel type
    await _event(app, "bob", "b1", 400)
    await _event(app, "bob", "b1", 400)  # a retry counts once
    _end(clock)
    await _event(app, "bob", "late", 10_000)  # after the window

    assert await _settle(app) == 1
    settled = await duels.get_duel(duel.duel_id, "bob", uow=app.uow())
    assert (settled.state, settled.challenger_score, settled.opponent_score) == (
        DuelState.SETTLED, 500, 400,
    )  # fmt: skip
    assert settled.winner_id == "ann"
    n = duel.duel_id
    assert await _grants(engine) == [
        ("ann", f"duel:{n}:ann:participation:0", 10),
        ("ann", f"duel:{n}:ann:winner:0", 100),
        ("bob", f"duel:{n}:bob:participation:0", 10),
    ]


async def test_equal_scores_are_a_draw_paying_both_the_draw_reward(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _setup(app)
    duel = await _respond(app, await _challenge(app))
    await _event(app, "ann", "a1", 50)
    await _event(app, "bob", "b1", 50)
    _end(clock)

    await _settle(app)

    settled = await duels.get_duel(duel.duel_id, "ann", uow=app.uow())
    assert (settled.state, settled.winner_id) == (DuelState.SETTLED, "")
    n = duel.duel_id
    assert await _grants(engine) == [
        ("ann", f"duel:{n}:ann:draw:0", 30), ("ann", f"duel:{n}:ann:participation:0", 10),
        ("bob", f"duel:{n}:bob:draw:0", 30), ("bob", f"duel:{n}:bob:participation:0", 10),
    ]  # fmt: skip


async def test_a_declined_duel_pays_nothing_and_takes_no_other_answer(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _setup(app)
    duel = await _challenge(app)

    declined = await _respond(app, duel, accept=False)
    again = await _respond(app, duel, accept=False)
    with pytest.raises(FailedPrecondition, match="declined"):
        await _respond(app, duel)
    _end(clock)

    assert (declined.state, again.state) == (DuelState.DECLINED, DuelState.DECLINED)
    assert await _settle(app) == 0
    assert await _grants(engine) == []


async def test_an_unanswered_challenge_expires_once(app: App, clock: MovableClock) -> None:
    await _setup(app)
    duel = await _challenge(app)
    clock.advance(minutes=59)
    assert await duel_settlement.expire_due(uow=app.uow(), now=clock.now()) == 0
    clock.advance(minutes=1)

    with pytest.raises(FailedPrecondition, match="expired"):
        await _respond(app, duel)
    assert await duel_settlement.expire_due(uow=app.uow(), now=clock.now()) == 1
    assert await duel_settlement.expire_due(uow=app.uow(), now=clock.now()) == 0
    stored = await duels.get_duel(duel.duel_id, "ann", uow=app.uow())
    assert stored.state is DuelState.EXPIRED


async def test_the_open_duel_limit_is_resource_exhausted(app: App) -> None:
    await _setup(app)
    await _challenge(app, key="k1")
    await _respond(app, await _challenge(app, "ann", "cy", key="k2"), user="cy")
    received = await _challenge(app, "dee", "ann", key="k3")  # received ones do not count

    with pytest.raises(ResourceExhausted, match="challenger_id"):
        await _challenge(app, "ann", "eve", key="k4")
    with pytest.raises(ResourceExhausted, match="user_id"):
        await _respond(app, received, user="ann")
    again = await duels.create_duel(
        duels.CreateDuel("ann", "bob", "steps", "k1"), uow=app.uow(), clock=app.clock
    )
    assert again.duplicate


async def test_concurrent_challenges_stay_within_the_limit(app: App) -> None:
    await _setup(app)
    tries = [
        duels.create_duel(duels.CreateDuel("ann", f"p{n}", "steps", f"k{n}"), uow=app.uow(),
                          clock=app.clock)
        for n in range(6)
    ]  # fmt: skip

    done = await asyncio.gather(*tries, return_exceptions=True)

    assert sum(not isinstance(d, BaseException) for d in done) == 2
    assert all(isinstance(d, ResourceExhausted) for d in done if isinstance(d, BaseException))


async def test_bad_challenges_are_refused_without_a_trace(app: App) -> None:
    await _setup(app)
    with pytest.raises(InvalidArgument, match="opponent_id"):
        await _challenge(app, "ann", "ann")
    with pytest.raises(NotFound, match="nope"):
        await duels.create_duel(
            duels.CreateDuel("ann", "bob", "nope", "k"), uow=app.uow(), clock=app.clock
        )
    await _setup(app, dataclasses.replace(STEPS, archived=True))
    with pytest.raises(NotFound, match="steps"):
        await _challenge(app)
    page = await duels.list_my_duels("ann", (), 0, "", uow=app.uow(), tokens=app.page_tokens)
    assert page.duels == []


async def test_only_the_challenged_user_answers_and_others_see_nothing(app: App) -> None:
    await _setup(app)
    duel = await _challenge(app)
    with pytest.raises(FailedPrecondition, match="challenged"):
        await _respond(app, duel, user="ann")
    with pytest.raises(NotFound):
        await _respond(app, duel, user="cy")
    with pytest.raises(NotFound):
        await duels.get_duel(duel.duel_id, "cy", uow=app.uow())


async def test_concurrent_and_repeated_settlement_pays_once(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _setup(app)
    for n, opponent in enumerate(("bob", "cy")):
        duel = await _challenge(app, "ann", opponent, key=f"k{n}")
        await _respond(app, duel, user=opponent)
    await _event(app, "ann", "a1", 5)
    _end(clock)

    settled = await asyncio.gather(*(_settle(app) for _ in range(4)))
    again = await _settle(app)

    assert (sum(settled), again) == (2, 0)
    grants = await _grants(engine)
    assert len(grants) == len(set(grants)) == 6  # 2 duels: ann wins both
    assert sum(amount for user, _, amount in grants if user == "ann") == 220


async def test_the_list_pages_newest_first_and_filters_by_state(app: App) -> None:
    await _setup(app, dataclasses.replace(STEPS, max_open_per_user=10))
    made = [await _challenge(app, "ann", f"p{n}", key=f"k{n}") for n in range(5)]
    await _respond(app, made[1], user="p1")

    first = await duels.list_my_duels("ann", (), 3, "", uow=app.uow(), tokens=app.page_tokens)
    second = await duels.list_my_duels(
        "ann", (), 3, first.next_page_token, uow=app.uow(), tokens=app.page_tokens
    )
    active = await duels.list_my_duels(
        "ann", (DuelState.ACTIVE,), 0, "", uow=app.uow(), tokens=app.page_tokens
    )

    ids = [d.duel_id for d in made]
    assert [d.duel_id for d in first.duels + second.duels] == ids[::-1]
    assert second.next_page_token == ""
    assert [d.duel_id for d in active.duels] == [ids[1]]


async def test_events_racing_settlement_leave_the_settled_scores_unchanged(
    app: App, clock: MovableClock, engine: AsyncEngine
) -> None:
    await _setup(app)
    duel = await _respond(app, await _challenge(app))
    inside = clock.now() + dt.timedelta(hours=23)
    _end(clock)

    async def late(user: str, n: int) -> None:  # occurred inside the window, sent after it
        cmd = TrackEvent(user, "walk", f"{user}-{n}", 1, occurred_at=inside)
        await events.track_event(cmd, uow=app.uow(), rules=app.rules)

    sending = [late(user, n) for n in range(10) for user in ("ann", "bob", "ann")]
    results = await asyncio.gather(*sending, _settle(app), _settle(app), return_exceptions=True)
    settled = await duels.get_duel(duel.duel_id, "ann", uow=app.uow())
    await late("ann", 99)
    again = await duels.get_duel(duel.duel_id, "ann", uow=app.uow())

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sum(r for r in results if isinstance(r, int)) == 1
    assert settled.state is DuelState.SETTLED
    assert (again.challenger_score, again.opponent_score) == (
        settled.challenger_score, settled.opponent_score,
    )  # fmt: skip
    grants = await _grants(engine)
    assert len(grants) == (4 if settled.winner_id == "" else 3)
