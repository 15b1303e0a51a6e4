"""Count-distinct tasks and badges through the generated stubs: different friends count."""

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

COUPON = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_COUPON, amount=1, item_code="5-off")
GIFT = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_ITEM, amount=1, item_code="gift")


def _invite_task(last_target: int = 10) -> defs.Definition:
    return defs.Definition(
        task=defs.TaskDefinition(
            task_id="invite", title="Invite friends", event_type="friend.joined",
            measure=defs.MEASURE_DISTINCT, distinct_attribute="friend",
            tiers=[defs.TaskTier(target=3, rewards=[COUPON]),
                   defs.TaskTier(target=last_target, rewards=[GIFT])],
        )
    )  # fmt: skip


def _social_badge() -> defs.Definition:
    return defs.Definition(
        badge=defs.BadgeDefinition(
            badge_id="social", title="Social",
            criterion=defs.BadgeCriterion(
                kind=defs.CRITERION_KIND_EVENT_DISTINCT, event_type="friend.joined",
                distinct_attribute="friend",
            ),
            tiers=[defs.BadgeTier(name="bronze", threshold=2)],
        )
    )  # fmt: skip


def _joined(key: str, friend: str) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id="ana", type="friend.joined", idempotency_key=key, attributes={"friend": friend}
    )


async def test_the_gift_takes_ten_different_friends(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    sender = events_grpc.EventServiceStub(channel)
    player = player_grpc.PlayerServiceStub(channel)
    await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=_invite_task()))
    await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=_social_badge()))

    same = [await sender.TrackEvent(_joined(f"same-{n}", "f1")) for n in range(7)]
    (listed,) = (await player.ListTasks(player_pb.ListTasksRequest(user_id="ana"))).tasks
    others = [await sender.TrackEvent(_joined(f"k{n}", f"f{n}")) for n in range(2, 11)]
    badges = await player.ListBadges(player_pb.ListBadgesRequest(user_id="ana"))

    assert [g for r in same for g in r.effects.grants] == []
    assert (listed.progress, listed.tiers_reached) == (1, 0)
    rewards = [g.reward.item_code for r in others for g in r.effects.grants]
    assert rewards == ["5-off", "gift"]
    assert [r.effects.completions[0].tier for r in others if r.effects.completions] == [1, 2]
    assert [(b.badge_id, b.tier) for b in badges.earned] == [("social", 1)]


async def test_a_distinct_target_is_validated(channel: grpc.aio.Channel) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    unnamed = _invite_task()
    unnamed.task.distinct_attribute = ""
    for definition, needle in (
        (unnamed, "distinct_attribute: must be 1 to 64 printable characters"),
        (_invite_task(last_target=1001), "counts at most 1000 distinct values"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=definition))
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert needle in (refused.value.details() or "")
