"""The rules handlers on real Postgres and Redis: idempotency, supply, caps, claims, insight."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.adapters.postgres.tables import grant_outbox
from service.app.rules import definitions, events, insight, player
from service.app.rules.ports import EventStatus
from service.app.rules.views import Tracked, TrackEvent
from service.bootstrap import App
from service.domain.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from service.domain.rewards import Reward, RewardKind
from service.domain.rules.checks import DefinitionKind
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
from service.domain.rules.modifiers import BoostDefinition, CapDefinition, CapKind
from service.domain.rules.ruleset import Definition
from service.domain.rules.windows import Cadence
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration

POINTS = RewardKind.POINTS


def _points(amount: int) -> tuple[Reward, ...]:
    return (Reward(POINTS, amount),)


def _task(
    task_id: str, event_type: str = "purchase", target: int = 1, **fields: object
) -> TaskDefinition:
    fields.setdefault("tiers", (TaskTier(target, _points(10)),))
    return TaskDefinition(task_id, task_id.title(), event_type, **fields)  # type: ignore[arg-type]


async def _define(app: App, *found: Definition) -> None:
    for definition in found:
        await definitions.upsert_definition(definition, uow=app.uow(), rules=app.rules)


async def _track(
    app: App, user_id: str, key: str, event_type: str = "purchase", *, value: int = 0,
    attributes: Mapping[str, str] | None = None, timezone: str = "",
) -> Tracked:  # fmt: skip
    cmd = TrackEvent(user_id, event_type, key, value, attributes, timezone=timezone)
    return await events.track_event(cmd, uow=app.uow(), rules=app.rules)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(sql))).scalar_one())


async def _grants(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(grant_outbox.c.user_id, grant_outbox.c.amount).order_by(grant_outbox.c.id)
        )
        return [(r.user_id, r.amount) for r in rows]


async def test_one_key_sent_concurrently_applies_once(app: App, engine: AsyncEngine) -> None:
    await _define(app, _task("first-buy", tiers=(TaskTier(1, _points(50)),)))
    results = await asyncio.gather(*(_track(app, "ana", "order-1") for _ in range(20)))
    assert sum(not r.duplicate for r in results) == 1
    assert {r.effects for r in results} == {results[0].effects}
    assert [g.reward.amount for g in results[0].effects.grants] == [50]
    assert await _grants(engine) == [("ana", 50)]
    assert await _count(engine, "select count(*) from rule_events") == 1


async def test_a_reused_key_must_name_the_same_event(app: App) -> None:
    await _track(app, "ana", "order-1", value=5)
    with pytest.raises(FailedPrecondition, match="different event"):
        await _track(app, "ana", "order-1", value=6)
    with pytest.raises(FailedPrecondition, match="another user"):
        await _track(app, "bob", "order-1", value=5)


async def test_events_too_far_from_now_are_refused(app: App, clock: MovableClock) -> None:
    late = TrackEvent("ana", "purchase", "k", occurred_at=clock.now() - dt.timedelta(days=8))
    with pytest.raises(InvalidArgument, match="occurred_at"):
        await events.track_event(late, uow=app.uow(), rules=app.rules)
    ahead = TrackEvent("ana", "purchase", "k", occurred_at=clock.now() + dt.timedelta(hours=1))
    with pytest.raises(InvalidArgument, match="occurred_at"):
        await events.track_event(ahead, uow=app.uow(), rules=app.rules)


async def test_limited_supply_goes_to_exactly_the_first_n_users(
    app: App, engine: AsyncEngine
) -> None:
    badge = BadgeDefinition(
        "early-bird", "Early bird", BadgeCriterion(CriterionKind.EVENT_COUNT, "purchase"),
        (BadgeTier("gold", 1, _points(5)),), supply=5,
    )  # fmt: skip
    await _define(app, badge)
    results = await asyncio.gather(*(_track(app, f"u{n:02}", f"k{n}") for n in range(30)))
    assert sum(bool(r.effects.badges) for r in results) == 5
    assert await _count(engine, "select count(*) from badge_states where tier > 0") == 5
    assert len(await _grants(engine)) == 5
    views = await player.list_badges("u00", uow=app.uow(), rules=app.rules)
    assert views[0].rarity == pytest.approx(5 / 30)


async def test_a_daily_cap_rejects_the_event_and_flags_it(
    app: App, engine: AsyncEngine, clock: MovableClock
) -> None:
    await _define(
        app,
        _task("buy", repeatable=True, max_completions=0, tiers=(TaskTier(1, _points(60)),)),
        CapDefinition("daily-points", "Daily points", CapKind.USER_PERIOD, 100),
    )
    assert (await _track(app, "ana", "a", timezone="Asia/Tokyo")).status is EventStatus.APPLIED
    second = await _track(app, "ana", "b")
    assert second.status is EventStatus.REJECTED
    assert second.effects.rejected.startswith("cap:daily-points")
    assert not second.effects.grants
    assert not second.effects.task_changes
    assert await _count(engine, "select count(*) from rule_events where review") == 1
    clock.advance(hours=12)  # past midnight in Tokyo: a new day under the cap
    assert (await _track(app, "ana", "c")).status is EventStatus.APPLIED
    assert [amount for _, amount in await _grants(engine)] == [60, 60]


async def test_velocity_limits_events_per_minute(app: App, clock: MovableClock) -> None:
    await _define(app, CapDefinition("taps", "Taps", CapKind.VELOCITY, 3, event_type="tap"))
    statuses = [(await _track(app, "ana", f"t{n}", "tap")).status for n in range(4)]
    assert statuses == [EventStatus.APPLIED] * 3 + [EventStatus.REJECTED]
    clock.advance(seconds=61)
    assert (await _track(app, "ana", "t5", "tap")).status is EventStatus.APPLIED


async def test_rejected_events_wait_for_review_newest_first(app: App) -> None:
    await _define(app, CapDefinition("taps", "Taps", CapKind.VELOCITY, 1, event_type="tap"))
    for n in range(5):
        await _track(app, "ana" if n < 4 else "bob", f"t{n}", "tap")
    first = await insight.list_flagged(
        insight.ListFlagged(page_size=2), uow=app.uow(), tokens=app.page_tokens
    )
    rest = await insight.list_flagged(
        insight.ListFlagged(page_size=2, page_token=first.next_page_token),
        uow=app.uow(),
        tokens=app.page_tokens,
    )
    anas = await insight.list_flagged(
        insight.ListFlagged("ana"), uow=app.uow(), tokens=app.page_tokens
    )
    assert [s.event.idempotency_key for s in first.events] == ["t3", "t2"]
    assert [s.event.idempotency_key for s in rest.events] == ["t1"]
    assert rest.next_page_token == ""
    assert first.events[0].effects.rejected.startswith("velocity:taps")
    assert len(anas.events) == 3
    with pytest.raises(InvalidArgument, match="page_token"):
        await insight.list_flagged(
            insight.ListFlagged("ana", page_token=first.next_page_token),
            uow=app.uow(),
            tokens=app.page_tokens,
        )


async def test_a_campaign_budget_is_shared_by_all_users(app: App, engine: AsyncEngine) -> None:
    await _define(
        app,
        _task("promo", tiers=(TaskTier(1, _points(40)),)),
        CapDefinition("promo-budget", "Promo", CapKind.BUDGET, 100, task_ids=("promo",)),
    )
    statuses = [(await _track(app, f"u{n}", f"k{n}")).status for n in range(3)]
    assert statuses == [EventStatus.APPLIED, EventStatus.APPLIED, EventStatus.REJECTED]
    assert await _count(engine, "select spent from cap_budgets") == 80


async def test_boosts_stack_by_group(app: App) -> None:
    await _define(
        app,
        _task("buy", tiers=(TaskTier(1, _points(100)),)),
        BoostDefinition("double", "Double", 200, stack_group="promo"),
        BoostDefinition("half-more", "Half more", 150, stack_group="promo"),
        BoostDefinition("vip", "VIP", 300, stack_group="vip"),
    )
    tracked = await _track(app, "ana", "k")
    assert [g.reward.amount for g in tracked.effects.grants] == [600]


async def test_rewards_wait_for_a_claim_when_the_task_asks_for_one(
    app: App, engine: AsyncEngine
) -> None:
    await _define(app, _task("survey", auto_claim=False, tiers=(TaskTier(1, _points(30)),)))
    tracked = await _track(app, "ana", "k")
    assert tracked.effects.completions
    assert not tracked.effects.grants
    (view,) = await player.list_tasks("ana", uow=app.uow(), rules=app.rules)
    assert view.claimable == 1
    claimed = await player.claim_task_reward("ana", "survey", uow=app.uow(), rules=app.rules)
    assert [g.reward.amount for g in claimed.grants] == [30]
    assert await _grants(engine) == [("ana", 30)]
    with pytest.raises(FailedPrecondition):
        await player.claim_task_reward("ana", "survey", uow=app.uow(), rules=app.rules)


async def test_claims_take_the_oldest_tiers_the_caps_let_through(
    app: App, clock: MovableClock
) -> None:
    await _define(
        app,
        _task("daily", cadence=Cadence.DAILY, auto_claim=False, tiers=(TaskTier(1, _points(60)),)),
        CapDefinition("daily-points", "Daily points", CapKind.USER_PERIOD, 100),
    )
    await _track(app, "ana", "d1")
    clock.advance(days=1)
    await _track(app, "ana", "d2")
    first = await player.claim_task_reward("ana", "daily", uow=app.uow(), rules=app.rules)
    with pytest.raises(ResourceExhausted, match="cap:daily-points"):
        await player.claim_task_reward("ana", "daily", uow=app.uow(), rules=app.rules)
    clock.advance(days=1)
    second = await player.claim_task_reward("ana", "daily", uow=app.uow(), rules=app.rules)
    assert [c.window_id for c in first.completions] == ["2026-03-10"]
    assert [c.window_id for c in second.completions] == ["2026-03-11"]


async def test_a_claim_over_a_cap_is_refused(app: App) -> None:
    await _define(
        app,
        _task("survey", auto_claim=False, tiers=(TaskTier(1, _points(30)),)),
        CapDefinition("tiny", "Tiny", CapKind.USER_PERIOD, 10),
    )
    await _track(app, "ana", "k")
    with pytest.raises(ResourceExhausted, match="cap:tiny"):
        await player.claim_task_reward("ana", "survey", uow=app.uow(), rules=app.rules)


async def test_xp_levels_the_user_up(app: App) -> None:
    levels = LevelTable(
        levels=(Level(1, "Bronze", 0), Level(2, "Silver", 100), Level(3, "Gold", 300, _points(7)))
    )
    xp = (Reward(RewardKind.XP, 320),)
    await _define(app, levels, _task("quest", tiers=(TaskTier(1, xp),)))
    tracked = await _track(app, "ana", "k")
    assert [u.name for u in tracked.effects.level_ups] == ["Silver", "Gold"]
    assert [g.reward.amount for g in tracked.effects.grants] == [320, 7]
    view = await player.get_profile("ana", uow=app.uow(), rules=app.rules)
    assert (view.level.name, view.next_level, view.profile.xp) == ("Gold", None, 320)


async def test_secret_badges_show_once_earned(app: App) -> None:
    secret = BadgeDefinition(
        "night-owl", "Night owl", BadgeCriterion(CriterionKind.EVENT_COUNT, "purchase"),
        (BadgeTier("owl", 2),), secret=True,
    )  # fmt: skip
    await _define(app, secret)
    await _track(app, "ana", "a")
    assert await player.list_badges("ana", uow=app.uow(), rules=app.rules) == []
    await _track(app, "ana", "b")
    (view,) = await player.list_badges("ana", uow=app.uow(), rules=app.rules)
    assert view.state.tier == 1


async def test_archived_tasks_stop_moving(app: App) -> None:
    await _define(app, _task("buy", target=2))
    await _track(app, "ana", "a")
    archived = await definitions.archive_definition(
        DefinitionKind.TASK, "buy", uow=app.uow(), rules=app.rules
    )
    assert archived.archived
    assert archived.version == 2
    assert not (await _track(app, "ana", "b")).effects.task_changes


async def test_dry_run_counts_users_and_cost_over_stored_events(app: App) -> None:
    for user, count in (("ana", 3), ("bob", 1), ("cy", 2)):
        for n in range(count):
            await _track(app, user, f"{user}-{n}", value=10)
    draft = _task("buy-twice", target=2, tiers=(TaskTier(2, _points(25)),))
    report = await insight.dry_run(draft, 7, uow=app.uow(), rules=app.rules)
    assert (report.events_evaluated, report.users_evaluated, report.users_completing) == (6, 3, 2)
    assert report.grant_cost == (Reward(POINTS, 50),)


async def test_explain_names_why_there_is_no_reward(app: App) -> None:
    await _define(
        app,
        _task("gray", rollout_percent=0),
        _task("big-buy", conditions=(Condition("value", Op.GE, ("100",)),)),
    )
    await _track(app, "ana", "k", value=50)
    gray = await insight.explain_progress(
        "ana", DefinitionKind.TASK, "gray", uow=app.uow(), rules=app.rules
    )
    assert gray.reason.startswith("not in rollout")
    big = await insight.explain_progress(
        "ana", DefinitionKind.TASK, "big-buy", uow=app.uow(), rules=app.rules
    )
    assert "value = '50' is not ge ['100']" in big.reason


async def test_a_batch_is_validated_whole_and_applied_in_order(
    app: App, engine: AsyncEngine
) -> None:
    await _define(app, _task("buy", target=2, measure=Measure.SUM))
    good = [TrackEvent("ana", "purchase", f"k{n}", value=1) for n in range(2)]
    with pytest.raises(InvalidArgument, match=r"events\[1\].type"):
        await events.track_events(
            [good[0], TrackEvent("ana", "Bad Type", "x")], uow=app.uow(), rules=app.rules
        )
    assert await _count(engine, "select count(*) from rule_events") == 0
    results = await events.track_events(good, uow=app.uow(), rules=app.rules)
    assert [r.effects.task_changes[0].progress for r in results] == [1, 2]
    assert results[1].effects.completions


async def test_segments_levels_and_prerequisites_decide_who_takes_part(app: App) -> None:
    levels = LevelTable(levels=(Level(1, "Rookie", 0), Level(2, "Regular", 10)))
    await _define(
        app,
        levels,
        _task("welcome", "signup", tiers=(TaskTier(1, (Reward(RewardKind.XP, 10),)),)),
        _task("vip-buy", segments=("vip",), prerequisites=("welcome",)),
        _task("regular-buy", min_level=2),
    )
    await player.set_segments("ana", ["vip"], uow=app.uow(), clock=app.clock)

    before = await _track(app, "ana", "b1")
    await _track(app, "ana", "s1", "signup")
    after = await _track(app, "ana", "b2")
    outsider = await _track(app, "bob", "b3")

    assert before.effects.task_changes == ()
    assert {c.task_id for c in after.effects.task_changes} == {"vip-buy", "regular-buy"}
    assert outsider.effects.task_changes == ()
    views = {
        v.task.task_id: v for v in await player.list_tasks("bob", uow=app.uow(), rules=app.rules)
    }
    assert sorted(views) == ["welcome"]  # outside the audience of the others: not listed
    explained = await insight.explain_progress(
        "bob", DefinitionKind.TASK, "regular-buy", uow=app.uow(), rules=app.rules
    )
    assert explained.reason == "requires level 2, user is level 1"


async def test_a_user_who_left_the_audience_still_sees_rewards_to_claim(app: App) -> None:
    await _define(app, _task("vip-buy", segments=("vip",), auto_claim=False))
    await player.set_segments("ana", ["vip"], uow=app.uow(), clock=app.clock)
    await _track(app, "ana", "b1")
    await player.set_segments("ana", [], uow=app.uow(), clock=app.clock)

    (view,) = await player.list_tasks("ana", uow=app.uow(), rules=app.rules)

    assert (view.task.task_id, view.claimable, view.blocked) == (
        "vip-buy",
        1,
        "no longer open to this user",
    )


async def test_timezones_apply_from_their_event_on_and_repeats_change_nothing(
    app: App, clock: MovableClock
) -> None:
    await _define(app, _task("daily", target=5, cadence=Cadence.DAILY))
    at = dt.datetime(2026, 3, 10, 11, 30, tzinfo=dt.UTC)  # 20:30 in Tokyo
    late = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)  # still the 9th in UTC
    batch = [
        TrackEvent("bob", "purchase", "k1", occurred_at=late),
        TrackEvent("bob", "purchase", "k2", occurred_at=at, timezone="Asia/Tokyo"),
    ]
    results = await events.track_events(batch, uow=app.uow(), rules=app.rules)
    repeat = await _track(app, "bob", "k2", timezone="America/Los_Angeles")

    assert [r.effects.task_changes[0].window_id for r in results] == ["2026-03-09", "2026-03-10"]
    assert repeat.duplicate
    profile = await player.get_profile("bob", uow=app.uow(), rules=app.rules)
    assert profile.profile.timezone == "Asia/Tokyo"
