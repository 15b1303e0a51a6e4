"""Players see only the tasks they take part in; operators still get the explanation."""

from __future__ import annotations

import grpc
import pytest

from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import player_pb2 as player_pb
from service.gen.engagement.v1 import player_pb2_grpc as player_grpc
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc

pytestmark = pytest.mark.e2e

TASK = defs.DEFINITION_KIND_TASK


def _task(task_id: str, **changes: object) -> defs.Definition:
    task = defs.TaskDefinition(
        task_id=task_id, title=task_id, event_type="order.paid", tiers=[defs.TaskTier(target=1)]
    )
    for name, value in changes.items():
        if isinstance(value, list):
            getattr(task, name).extend(value)
        else:
            setattr(task, name, value)
    return defs.Definition(task=task)


async def test_tasks_outside_rollout_or_audience_are_hidden_from_players(
    channel: grpc.aio.Channel,
) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    player = player_grpc.PlayerServiceStub(channel)
    for definition in (
        _task("open"),
        _task("gray", rollout_percent=0),
        _task("vip", segments=["vip"]),
        _task("veteran", min_level=5),
        _task("next", prerequisites=["open"]),
    ):
        await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=definition))
    await admin.SetUserSegments(
        admin_pb.SetUserSegmentsRequest(user_id="vip-ana", segments=["vip"])
    )

    bob = (await player.ListTasks(player_pb.ListTasksRequest(user_id="bob"))).tasks
    ana = (await player.ListTasks(player_pb.ListTasksRequest(user_id="vip-ana"))).tasks
    explained = await admin.ExplainProgress(
        admin_pb.ExplainProgressRequest(user_id="bob", kind=TASK, definition_id="gray")
    )

    assert {t.task_id: t.blocked_reason for t in bob} == {
        "open": "",
        "next": "prerequisite open not done",
    }
    assert sorted(t.task_id for t in ana) == ["next", "open", "vip"]
    assert explained.reason.startswith("not in rollout: bucket")


async def test_archiving_a_prerequisite_of_live_tasks_is_refused_naming_them(
    channel: grpc.aio.Channel,
) -> None:
    admin = admin_grpc.RulesAdminServiceStub(channel)
    for definition in (
        _task("open"),
        _task("next", prerequisites=["open"]),
        _task("later", prerequisites=["open"]),
    ):
        await admin.UpsertDefinition(admin_pb.UpsertDefinitionRequest(definition=definition))
    archive = admin_pb.ArchiveDefinitionRequest(kind=TASK, definition_id="open")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await admin.ArchiveDefinition(archive)
    for dependant in ("next", "later"):
        await admin.ArchiveDefinition(
            admin_pb.ArchiveDefinitionRequest(kind=TASK, definition_id=dependant)
        )
    archived = await admin.ArchiveDefinition(archive)

    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == (
        "task open is a prerequisite of the live tasks later, next: archive or change those first"
    )
    assert archived.definition.task.archived
