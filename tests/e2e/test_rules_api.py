"""The rules engine through the generated stubs: game ops define, services send, players read."""

from __future__ import annotations

import grpc
import pytest

from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.REWARD_KIND_POINTS
COUPON = rewards_pb2.REWARD_KIND_COUPON
TASK = defs.DEFINITION_KIND_TASK


def _invite_task() -> defs.Definition:
    """Invite 3 friends for a coupon, 10 for a gift; only invites that signed up count."""
    return defs.Definition(
        task=defs.TaskDefinition(
            task_id="invite",
            title="Invite friends",
            event_type="invite",
            conditions=[
                defs.Condition(
                    field="attributes.status", op=defs.CONDITION_OP_EQ, operands=["signed_up"]
                )
            ],
            tiers=[
                defs.TaskTier(
                    target=3,
                    rewards=[rewards_pb2.Reward(kind=COUPON, amount=1, item_code="5-off")],
                ),
                defs.TaskTier(target=10, rewards=[rewards_pb2.Reward(kind=POINTS, amount=500)]),
            ],
        )
    )


def _invite(user: str, key: str, status: str = "signed_up") -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id=user, type="invite", idempotency_key=key, attributes={"status": status}
    )


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await call  # type: ignore[misc]
    return excinfo.value.code(), excinfo.value.details() or ""


async def test_tiers_complete_in_order_and_a_retry_changes_nothing(
    channel: grpc.aio.Channel,
) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    stored = await admin.UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=_invite_task())
    )
    assert stored.definition.task.version == 1

    await sender.TrackEvent(_invite("ana", "i1"))
    await sender.TrackEvent(_invite("ana", "i2", status="pending"))
    await sender.TrackEvent(_invite("ana", "i3"))
    third = await sender.TrackEvent(_invite("ana", "i4"))
    again = await sender.TrackEvent(_invite("ana", "i4"))

    assert [c.tier for c in third.effects.completions] == [1]
    assert third.effects.grants[0].reward.item_code == "5-off"
    assert third.effects.grants[0].cause_ref == "task:invite/event:i4"
    assert (third.effects.grants[0].cause_kind, third.effects.grants[0].definition_version) == (
        "task",
        1,
    )
    assert again.effects.duplicate
    assert list(again.effects.grants) == list(third.effects.grants)
    player = player_grpc.PlayerServiceStub(channel)
    (task,) = (await player.ListTasks(player_pb.ListTasksRequest(user_id="ana"))).tasks
    assert (task.progress, task.target, task.tiers_reached, task.tier_count) == (3, 10, 1, 2)
    assert task.next_tier_rewards[0].amount == 500


async def test_bad_input_names_the_field(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    broken = _invite_task()
    broken.task.tiers[1].target = 2
    code, details = await _code(
        admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=broken))
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "tiers[1].target" in details

    batch = events_pb.TrackEventsRequest(
        events=[_invite("ana", "a"), _invite("ana", "b", "x" * 300)]
    )
    code, details = await _code(sender.TrackEvents(batch))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "events[1].attributes[status]" in details

    huge = events_pb.TrackEventsRequest(events=[_invite("ana", f"k{n}") for n in range(501)])
    code, _ = await _code(sender.TrackEvents(huge))
    assert code is grpc.StatusCode.INVALID_ARGUMENT

    draft = admin_pb.DryRunDefinitionRequest(definition=_invite_task(), days=91)
    code, details = await _code(admin.DryRunDefinition(draft))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "days" in details


async def test_unknown_ids_and_empty_claims_have_their_codes(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    player = player_grpc.PlayerServiceStub(channel)
    code, details = await _code(
        admin.GetDefinition(admin_pb.GetDefinitionRequest(kind=TASK, definition_id="nope"))
    )
    assert code is grpc.StatusCode.NOT_FOUND
    assert "nope" in details
    code, _ = await _code(
        player.ClaimTaskReward(player_pb.ClaimTaskRewardRequest(user_id="ana", task_id="nope"))
    )
    assert code is grpc.StatusCode.NOT_FOUND
    await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=_invite_task()))
    code, _ = await _code(
        player.ClaimTaskReward(player_pb.ClaimTaskRewardRequest(user_id="ana", task_id="invite"))
    )
    assert code is grpc.StatusCode.FAILED_PRECONDITION


async def test_ops_archive_explain_and_dry_run(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=_invite_task()))
    await sender.TrackEvents(
        events_pb.TrackEventsRequest(events=[_invite("bob", f"b{n}") for n in range(4)])
    )
    report = await admin.DryRunDefinition(
        admin_pb.DryRunDefinitionRequest(definition=_invite_task(), days=7)
    )
    assert (report.events_evaluated, report.users_evaluated, report.users_completing) == (4, 1, 0)
    assert [(r.kind, r.amount) for r in report.grant_cost] == [(COUPON, 1)]

    explained = await admin.ExplainProgress(
        admin_pb.ExplainProgressRequest(user_id="cy", kind=TASK, definition_id="invite")
    )
    assert explained.reason == "no event of this type received yet"

    await admin.ArchiveDefinition(
        admin_pb.ArchiveDefinitionRequest(kind=TASK, definition_id="invite")
    )
    live = await admin.ListDefinitions(admin_pb.ListDefinitionsRequest(kind=TASK))
    everything = await admin.ListDefinitions(
        admin_pb.ListDefinitionsRequest(kind=TASK, include_archived=True)
    )
    assert list(live.definitions) == []
    assert [d.task.archived for d in everything.definitions] == [True]


async def test_profiles_show_level_and_segments(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    player = player_grpc.PlayerServiceStub(channel)
    table = defs.LevelTable(base_xp=100, exponent=1.0, max_level=5)
    await admin.UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=defs.Definition(levels=table))
    )
    segments = await admin.SetUserSegments(
        admin_pb.SetUserSegmentsRequest(user_id="ana", segments=["vip", "beta", "vip"])
    )
    profile = (await player.GetProfile(player_pb.GetProfileRequest(user_id="ana"))).profile
    assert list(segments.segments) == ["beta", "vip"]
    assert (profile.level, profile.xp_to_next_level, profile.next_level_name) == (1, 100, "Level 2")


async def test_flagged_events_are_listed_for_review(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    velocity = defs.CapDefinition(
        cap_id="invites", title="Invites", kind=defs.CAP_KIND_VELOCITY, limit=1,
        event_type="invite",
    )  # fmt: skip
    await admin.UpsertDefinition(
        admin_pb.UpsertDefinitionRequest(definition=defs.Definition(cap=velocity))
    )
    await sender.TrackEvent(_invite("ana", "a"))
    rejected = await sender.TrackEvent(_invite("ana", "b"))
    listed = await admin.ListFlaggedEvents(admin_pb.ListFlaggedEventsRequest(user_id="ana"))
    assert rejected.effects.status == events_pb.EVENT_STATUS_REJECTED
    assert [(e.idempotency_key, e.attributes["status"]) for e in listed.events] == [
        ("b", "signed_up")
    ]
    assert listed.events[0].reason == rejected.effects.rejected_reason
