"""Two replicas feeding one goal at once, each call also retried on the other replica:
nothing is lost, nothing counts twice, every milestone pays each qualifying user once."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.bootstrap import App, build_app
from service.entrypoints.grpc_api.server import RunningServer, start_server
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import goals_pb2 as pb
from service.gen.engagement.v1 import goals_pb2_grpc as pb_grpc
from service.settings import Settings
from tests.support import auth
from tests.support.clock import MovableClock
from tests.support.goals import goal, goal_grants, paid

pytestmark = pytest.mark.e2e


def _purchase(user: str, n: int) -> events_pb.TrackEventRequest:
    # Every third purchase is in the shop the goal leaves out.
    shop = "outlet" if n % 3 == 2 else "main"
    return events_pb.TrackEventRequest(
        user_id=user, type="order.paid", value=n % 4 + 1, idempotency_key=f"{user}-{n}",
        attributes={"shop": shop},
    )  # fmt: skip


async def test_two_replicas_count_a_goal_exactly(
    channel: grpc.aio.Channel,
    server: RunningServer,
    settings: Settings,
    clock: MovableClock,
    engine: AsyncEngine,
) -> None:
    now = clock.now()
    summed = goal("spend", now, now + dt.timedelta(hours=1), [200, 400, 10**6], minimum=12)
    summed.metric = pb.GOAL_METRIC_EVENT_SUM
    summed.conditions.append(
        defs.Condition(field="attributes.shop", op=defs.CONDITION_OP_EQ, operands=["main"])
    )
    await pb_grpc.GoalAdminServiceStub(channel).UpsertGoal(pb.UpsertGoalRequest(goal=summed))
    other: App = build_app(settings, clock=clock)
    second = await start_server(other, "127.0.0.1:0")
    calls = [_purchase(f"p{u:02}", n) for u in range(30) for n in range(u % 12 + 4)]
    try:
        async with auth.channel(second.port) as other_channel:
            senders = [events_grpc.EventServiceStub(c) for c in (channel, other_channel)]
            gate = asyncio.Semaphore(120)

            async def send(i: int, request: events_pb.TrackEventRequest) -> bool:
                async with gate:
                    answer = await senders[i % 2].TrackEvent(request)
                return answer.effects.duplicate

            firsts = [send(i, c) for i, c in enumerate(calls)]
            retries = [send(i + 1, c) for i, c in enumerate(calls)]
            duplicates = await asyncio.gather(
                *(x for pair in zip(firsts, retries, strict=True) for x in pair)
            )
    finally:
        await second.stop(0)
        await other.close()

    counted: dict[str, int] = {}
    for c in calls:
        if c.attributes["shop"] == "main":
            counted[c.user_id] = counted.get(c.user_id, 0) + c.value
    progress = (await pb_grpc.GoalServiceStub(channel).GetGoal(
        pb.GetGoalRequest(goal_id="spend", user_id="p29")
    )).goal  # fmt: skip
    grants = await goal_grants(engine)
    qualified = {user for user, amount in counted.items() if amount >= 12}
    assert sum(duplicates) == len(calls)  # each call applied once, on one replica or the other
    assert (progress.total, progress.contributors) == (sum(counted.values()), len(counted))
    assert progress.my_contribution == counted["p29"]
    assert progress.total >= 400
    assert len(grants) == len(set(grants)) == 2 * len(qualified)
    assert paid(grants, 200) == paid(grants, 400) == qualified
