"""Duels and assists through the generated stubs, as a mobile backend and ops call them."""

from __future__ import annotations

import grpc
import pytest

from service.app.social import duel_settlement
from service.bootstrap import App
from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as rules_pb
from service.gen.engagement.v1 import rules_admin_pb2_grpc as rules_grpc
from service.gen.engagement.v1 import social_pb2 as pb
from service.gen.engagement.v1 import social_pb2_grpc as pb_grpc
from tests.support import auth
from tests.support.clock import MovableClock

pytestmark = pytest.mark.e2e

POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=100)
SIP = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=5)
QUIZ = pb.DuelType(
    type_id="quiz", title="Quiz duel", event_types=["quiz.answered"], measure=defs.MEASURE_COUNT,
    window_seconds=3600, respond_within_seconds=600, winner_rewards=[POINTS],
    participation_rewards=[SIP], max_open_per_user=1,
)  # fmt: skip


def _player(server: RunningServer, user: str) -> grpc.aio.Channel:
    return auth.channel(server.port, auth.token(user, "player"))


async def _code(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as excinfo:
        await call  # type: ignore[misc]
    return excinfo.value.code(), excinfo.value.details() or ""


async def test_a_duel_from_challenge_to_settlement(
    channel: grpc.aio.Channel, server: RunningServer, app: App, clock: MovableClock
) -> None:
    admin = pb_grpc.DuelAdminServiceStub(channel)
    stored = await admin.UpsertDuelType(pb.UpsertDuelTypeRequest(duel_type=QUIZ))
    async with _player(server, "ann") as ann_channel, _player(server, "bob") as bob_channel:
        ann, bob = pb_grpc.DuelServiceStub(ann_channel), pb_grpc.DuelServiceStub(bob_channel)
        created = await ann.CreateDuel(pb.CreateDuelRequest(
            challenger_id="ann", opponent_id="bob", type_id="quiz", idempotency_key="c1"
        ))  # fmt: skip
        duel_id = created.duel.duel_id
        limit = await _code(ann.CreateDuel(pb.CreateDuelRequest(
            challenger_id="ann", opponent_id="cy", type_id="quiz", idempotency_key="c2"
        )))  # fmt: skip
        not_hers = await _code(ann.RespondToDuel(
            pb.RespondToDuelRequest(duel_id=duel_id, user_id="bob", accept=True)
        ))  # fmt: skip
        accepted = await bob.RespondToDuel(
            pb.RespondToDuelRequest(duel_id=duel_id, user_id="bob", accept=True)
        )
        sender = events_grpc.EventServiceStub(channel)
        for n, user in enumerate(("ann", "bob", "bob")):
            await sender.TrackEvent(events_pb.TrackEventRequest(
                user_id=user, type="quiz.answered", idempotency_key=f"q{n}"
            ))  # fmt: skip
        clock.advance(hours=1, minutes=6)
        await duel_settlement.upkeep(uow=app.uow(), now=clock.now())
        final = await ann.GetDuel(pb.GetDuelRequest(duel_id=duel_id, user_id="ann"))
        listed = await bob.ListMyDuels(pb.ListMyDuelsRequest(
            user_id="bob", states=[pb.DUEL_STATE_SETTLED]
        ))  # fmt: skip

    assert stored.duel_type.version == 1
    assert created.duel.state == pb.DUEL_STATE_PENDING
    assert limit[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert not_hers[0] == grpc.StatusCode.PERMISSION_DENIED
    assert accepted.duel.state == pb.DUEL_STATE_ACTIVE
    assert (final.duel.state, final.duel.winner_id) == (pb.DUEL_STATE_SETTLED, "bob")
    assert (final.duel.challenger_score, final.duel.opponent_score) == (1, 2)
    assert [d.duel_id for d in listed.duels] == [duel_id]


async def test_bad_duel_requests_name_the_field(channel: grpc.aio.Channel) -> None:
    duels = pb_grpc.DuelServiceStub(channel)
    admin = pb_grpc.DuelAdminServiceStub(channel)
    bad_type = pb.DuelType(type_id="x", title="X", event_types=["a"], window_seconds=1,
                           respond_within_seconds=600)  # fmt: skip

    refused = [
        await _code(admin.UpsertDuelType(pb.UpsertDuelTypeRequest(duel_type=bad_type))),
        await _code(duels.CreateDuel(pb.CreateDuelRequest(
            challenger_id="ann", opponent_id="ann", type_id="quiz", idempotency_key="k"
        ))),
        await _code(duels.GetDuel(pb.GetDuelRequest(duel_id=0, user_id="ann"))),
        await _code(duels.GetDuel(pb.GetDuelRequest(duel_id=7, user_id="ann"))),
        await _code(duels.ListMyDuels(pb.ListMyDuelsRequest(
            user_id="ann", states=[pb.DuelState.ValueType(99)]
        ))),
    ]  # fmt: skip

    assert [(code, details.split(":")[0]) for code, details in refused] == [
        (grpc.StatusCode.INVALID_ARGUMENT, "window"),
        (grpc.StatusCode.INVALID_ARGUMENT, "opponent_id"),
        (grpc.StatusCode.INVALID_ARGUMENT, "duel_id"),
        (grpc.StatusCode.NOT_FOUND, "duel '7' not found"),
        (grpc.StatusCode.INVALID_ARGUMENT, "states[0]"),
    ]


async def test_a_friend_completes_a_task_with_an_assist(
    channel: grpc.aio.Channel, server: RunningServer
) -> None:
    task = defs.TaskDefinition(
        task_id="water", title="Water the garden", event_type="garden.watered",
        tiers=[defs.TaskTier(target=2, rewards=[POINTS])],
        assists=defs.TaskAssists(per_friend_cap=1, per_task_cap=2, window_seconds=3600),
    )  # fmt: skip
    await rules_grpc.RulesAdminServiceStub(channel).UpsertDefinition(
        rules_pb.UpsertDefinitionRequest(definition=defs.Definition(task=task))
    )
    async with _player(server, "bob") as bob_channel, _player(server, "cy") as cy_channel:
        bob, cy = pb_grpc.AssistServiceStub(bob_channel), pb_grpc.AssistServiceStub(cy_channel)
        first = await bob.AssistTask(pb.AssistTaskRequest(
            helper_id="bob", user_id="ann", task_id="water", idempotency_key="h1"
        ))  # fmt: skip
        again = await _code(bob.AssistTask(pb.AssistTaskRequest(
            helper_id="bob", user_id="ann", task_id="water", idempotency_key="h2"
        )))  # fmt: skip
        selfish = await _code(bob.AssistTask(pb.AssistTaskRequest(
            helper_id="bob", user_id="bob", task_id="water", idempotency_key="h3"
        )))  # fmt: skip
        impostor = await _code(bob.AssistTask(pb.AssistTaskRequest(
            helper_id="cy", user_id="ann", task_id="water", idempotency_key="h4"
        )))  # fmt: skip
        second = await cy.AssistTask(pb.AssistTaskRequest(
            helper_id="cy", user_id="ann", task_id="water", idempotency_key="h1"
        ))  # fmt: skip
    stored = await rules_grpc.RulesAdminServiceStub(channel).GetDefinition(
        rules_pb.GetDefinitionRequest(kind=defs.DEFINITION_KIND_TASK, definition_id="water")
    )

    assert (first.progress, first.target, len(first.grants)) == (1, 2, 0)
    assert again[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert selfish[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert impostor[0] == grpc.StatusCode.PERMISSION_DENIED
    assert (second.tiers_reached, [g.user_id for g in second.grants]) == (1, ["ann"])
    assert stored.definition.task.assists.per_task_cap == 2
