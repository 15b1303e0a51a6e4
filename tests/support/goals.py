"""Goal requests and grant reads shared by the goal tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import goals_pb2 as pb
from service.gen.engagement.v1 import rewards_pb2
from service.protobuf_time import timestamp

POINTS = rewards_pb2.Reward(kind=rewards_pb2.REWARD_KIND_POINTS, amount=100)


def goal(
    goal_id: str,
    starts: dt.datetime,
    ends: dt.datetime,
    targets: Sequence[int],
    *,
    minimum: int = 1,
    team_id: str = "",
    metric: pb.GoalMetric.ValueType = pb.GOAL_METRIC_EVENT_COUNT,
) -> pb.Goal:
    event_metric = metric != pb.GOAL_METRIC_CHECK_IN
    return pb.Goal(
        goal_id=goal_id, title=goal_id, metric=metric,
        scope=pb.GOAL_SCOPE_TEAM if team_id else pb.GOAL_SCOPE_COMMUNITY, team_id=team_id,
        event_types=["order.paid"] if event_metric else [], starts_at=timestamp(starts),
        ends_at=timestamp(ends), min_contribution=minimum,
        milestones=[pb.GoalMilestone(target=t, rewards=[POINTS]) for t in targets],
    )  # fmt: skip


async def goal_grants(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(user, idempotency key) of every goal grant in the outbox, sorted."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "select user_id, idempotency_key from grant_outbox"
                " where cause_kind = 'goal_milestone' order by 1, 2"
            )
        )
        return [(r.user_id, r.idempotency_key) for r in rows]


def paid(grants: Sequence[tuple[str, str]], target: int) -> set[str]:
    """The users a milestone paid."""
    return {user for user, key in grants if f":milestone:{target}:" in key}
