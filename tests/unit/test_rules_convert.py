"""Event, player and insight protos and the rules handlers' values."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from service.app.rules.ports import EventStatus
from service.app.rules.views import (
    BadgeView,
    Claimed,
    DryRunReport,
    ProfileView,
    TaskView,
    Tracked,
)
from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward, RewardKind
from service.domain.rules.checks import DefinitionKind
from service.domain.rules.explain import Check, Explanation
from service.domain.rules.state import (
    BadgeState,
    BadgeUnlock,
    Effects,
    LevelUp,
    Profile,
    TaskChange,
    TaskCompletion,
)
from service.entrypoints.grpc_api.rules import convert
from service.entrypoints.grpc_api.rules import definition_convert as defs
from service.gen.engagement.v1 import definitions_pb2 as pb
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import rewards_pb2 as rewards_pb
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from tests.support.definition_samples import (
    AT,
    BADGE,
    COIN,
    COUPON,
    LEVELS,
    RANK_BADGE,
    TASK,
)


def _field_of(excinfo: pytest.ExceptionInfo[InvalidArgument]) -> str:
    return excinfo.value.field


# Events


def _event(**fields: Any) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id="alice", type="order.paid", idempotency_key="order-1", **fields
    )


def test_an_event_becomes_a_command() -> None:
    message = _event(value=1250, attributes={"category": "books"}, timezone="Europe/Berlin")
    message.occurred_at.FromDatetime(AT)

    cmd = convert.track_event_from_pb(message)

    assert (cmd.user_id, cmd.type, cmd.idempotency_key, cmd.value) == (
        "alice",
        "order.paid",
        "order-1",
        1250,
    )
    assert cmd.attributes == {"category": "books"}
    assert cmd.occurred_at == AT
    assert cmd.timezone == "Europe/Berlin"


def test_an_event_without_occurred_at_happens_now() -> None:
    assert convert.track_event_from_pb(_event()).occurred_at is None


COMPLETION = TaskCompletion(
    "alice", "buy-books", 4, 2, 1, "once", (COIN,), AT, "order-1", claimed_at=None
)
GRANT = Grant("task:buy-books", "alice", COIN, "Buy three books", "task", "task:x", 4)


def test_effects_carry_everything_the_event_did() -> None:
    effects = Effects(
        task_changes=(TaskChange("buy-books", 4, "once", 1, 3, 1, None),),
        completions=(COMPLETION,),
        badges=(BadgeUnlock("reader", 2, 1, "bronze"),),
        level_ups=(LevelUp(2, "Regular"),),
        board_submissions=("weekly-xp",),
        grants=(GRANT,),
    )

    message = convert.tracked_to_pb(Tracked(effects, EventStatus.APPLIED, duplicate=True))

    assert message.status == events_pb.EVENT_STATUS_APPLIED
    assert message.duplicate
    assert message.rejected_reason == ""
    progress = message.task_progress[0]
    assert (progress.task_id, progress.progress, progress.target, progress.tiers_reached) == (
        "buy-books",
        1,
        3,
        1,
    )
    assert not progress.HasField("window_end")
    completion = message.completions[0]
    assert (completion.run, completion.tier, completion.event_idempotency_key) == (2, 1, "order-1")
    assert completion.completed_at.ToDatetime(dt.UTC) == AT
    assert not completion.HasField("claimed_at")
    assert [(u.badge_id, u.tier, u.tier_name) for u in message.badge_unlocks] == [
        ("reader", 1, "bronze")
    ]
    assert [(u.level, u.name) for u in message.level_ups] == [(2, "Regular")]
    assert list(message.board_ids) == ["weekly-xp"]
    assert message.grants[0].idempotency_key == "task:buy-books"


def test_a_rejected_event_says_why() -> None:
    tracked = Tracked(Effects(rejected="cap:spam"), EventStatus.REJECTED, duplicate=False)

    message = convert.tracked_to_pb(tracked)

    assert message.status == events_pb.EVENT_STATUS_REJECTED
    assert message.rejected_reason == "cap:spam"


# Player views


def test_a_task_view_shows_the_next_tiers_rewards() -> None:
    end = AT + dt.timedelta(hours=3)
    view = TaskView(TASK, "2026-12-01..2026-12-24", end, 1, 3, 1, 0, 1, "")

    message = convert.task_view_to_pb(view)

    assert (message.task_id, message.cadence, message.tier_count) == (
        "buy-books",
        pb.CADENCE_DATE_RANGE,
        2,
    )
    assert (message.progress, message.target, message.claimable) == (1, 3, 1)
    assert message.window_end.ToDatetime(dt.UTC) == end
    assert [r.item_code for r in message.next_tier_rewards] == ["", "free-coffee"]


def test_a_finished_task_has_no_next_rewards_and_says_why_it_is_blocked() -> None:
    view = TaskView(TASK, "once", None, 3, 3, 2, 1, 0, "completed")

    message = convert.task_view_to_pb(view)

    assert list(message.next_tier_rewards) == []
    assert message.blocked_reason == "completed"
    assert not message.HasField("window_end")


def test_badges_split_into_earned_and_locked_and_secrets_stay_secret() -> None:
    earned = BadgeView(BADGE, BadgeState("alice", "reader", 1, 40, 1, AT), 0.25, 100)
    locked_secret = BadgeView(BADGE, BadgeState("alice", "reader", 1, 4), 0.25, 10)
    locked = BadgeView(RANK_BADGE, BadgeState("alice", "champion", 1), 0.01, 10)

    message = convert.badges_to_pb([earned, locked_secret, locked])

    assert [(b.badge_id, b.tier, b.tier_name, b.title) for b in message.earned] == [
        ("reader", 1, "bronze", "Reader")
    ]
    assert message.earned[0].earned_at.ToDatetime(dt.UTC) == AT
    assert [(b.badge_id, b.title, b.description, b.secret) for b in message.locked] == [
        ("reader", "", "", True),
        ("champion", "Champion", "", False),
    ]
    assert (message.locked[0].progress, message.locked[0].next_threshold) == (4, 10)
    assert message.locked[1].rarity == pytest.approx(0.01)
    assert not message.locked[1].HasField("earned_at")


def test_a_profile_shows_the_level_and_the_way_to_the_next() -> None:
    profile = Profile("alice", "Asia/Tokyo", ("vip",), xp=150, level=2)
    view = ProfileView(profile, LEVELS.levels[1], LEVELS.levels[2], 100, 33.3)

    message = convert.profile_view_to_pb(view)

    assert (message.level, message.level_name, message.next_level_name) == (2, "Regular", "Pro")
    assert (message.xp, message.xp_to_next_level) == (150, 100)
    assert message.progress_percent == pytest.approx(33.3)
    assert (list(message.segments), message.timezone) == (["vip"], "Asia/Tokyo")


def test_the_top_level_has_no_next_level() -> None:
    view = ProfileView(Profile("alice", xp=900, level=3), LEVELS.levels[2], None, 0, 100.0)

    assert convert.profile_view_to_pb(view).next_level_name == ""


def test_a_claim_returns_completions_and_grants() -> None:
    claimed = dataclasses.replace(COMPLETION, claimed_at=AT)

    message = convert.claimed_to_pb(Claimed((claimed,), (GRANT,)))

    assert message.completions[0].claimed_at.ToDatetime(dt.UTC) == AT
    assert [g.reward.amount for g in message.grants] == [50]


# Insight


def _dry_run(definition: pb.Definition, days: int) -> admin_pb.DryRunDefinitionRequest:
    return admin_pb.DryRunDefinitionRequest(definition=definition, days=days)


def test_a_dry_run_takes_a_task_or_badge_draft() -> None:
    draft, days = convert.dry_run_from_pb(_dry_run(defs.definition_to_pb(BADGE), 90))

    assert (draft, days) == (BADGE, 90)


def test_a_dry_run_report_sums_the_cost() -> None:
    report = DryRunReport(7, 1200, 300, 42, (Reward(RewardKind.POINTS, 2100), COUPON))

    message = convert.dry_run_to_pb(report)

    assert (message.days, message.events_evaluated, message.users_evaluated) == (7, 1200, 300)
    assert message.users_completing == 42
    assert [(r.kind, r.amount) for r in message.grant_cost] == [
        (rewards_pb.REWARD_KIND_POINTS, 2100),
        (rewards_pb.REWARD_KIND_COUPON, 1),
    ]


def test_an_explanation_lists_its_checks() -> None:
    explanation = Explanation(
        DefinitionKind.TASK,
        "buy-books",
        4,
        (Check("segments", True, "holds vip"), Check("prerequisites", False, "first-login")),
        1,
        3,
        "prerequisite first-login not done",
    )

    message = convert.explanation_to_pb(explanation)

    assert (message.kind, message.definition_id, message.version) == (
        pb.DEFINITION_KIND_TASK,
        "buy-books",
        4,
    )
    assert [(c.name, c.holds, c.detail) for c in message.checks] == [
        ("segments", True, "holds vip"),
        ("prerequisites", False, "first-login"),
    ]
    assert (message.progress, message.target) == (1, 3)
    assert message.reason == "prerequisite first-login not done"
