"""Team and community goals through the API: counting, milestones, windows, teams."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from service.gen.engagement.v1 import audit_pb2 as audit_pb
from service.gen.engagement.v1 import audit_pb2_grpc as audit_grpc
from service.gen.engagement.v1 import check_in_pb2 as check_in_pb
from service.gen.engagement.v1 import check_in_pb2_grpc as check_in_grpc
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import events_pb2_grpc as events_grpc
from service.gen.engagement.v1 import goals_pb2 as pb
from service.gen.engagement.v1 import goals_pb2_grpc as pb_grpc
from service.gen.engagement.v1 import privacy_pb2 as privacy_pb
from service.gen.engagement.v1 import privacy_pb2_grpc as privacy_grpc
from service.protobuf_time import timestamp
from tests.support.clock import MovableClock
from tests.support.goals import goal, goal_grants, paid

pytestmark = pytest.mark.e2e
HOUR = dt.timedelta(hours=1)


def _order(
    user: str, key: str, occurred_at: Timestamp | None = None
) -> events_pb.TrackEventRequest:
    return events_pb.TrackEventRequest(
        user_id=user, type="order.paid", value=1, idempotency_key=key, occurred_at=occurred_at
    )


async def _progress(channel: grpc.aio.Channel, goal_id: str, user: str) -> pb.GoalProgress:
    found = await pb_grpc.GoalServiceStub(channel).GetGoal(
        pb.GetGoalRequest(goal_id=goal_id, user_id=user)
    )
    return found.goal


async def test_concurrent_contributions_lose_nothing_and_pay_each_milestone_once(
    channel: grpc.aio.Channel, clock: MovableClock, engine: AsyncEngine
) -> None:
    now = clock.now()
    await pb_grpc.GoalAdminServiceStub(channel).UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("rush", now, now + HOUR, [100, 250, 380, 1000], minimum=10))
    )
    sender = events_grpc.EventServiceStub(channel)
    counts = {f"u{i:02}": 5 + i % 10 for i in range(40)}  # 380 events; 20 users reach 10
    calls = [_order(user, f"{user}-{n}") for user, k in counts.items() for n in range(k)]
    gate = asyncio.Semaphore(100)  # below the server's concurrency limit

    async def send(request: events_pb.TrackEventRequest) -> bool:
        async with gate:
            return (await sender.TrackEvent(request)).effects.duplicate

    assert not any(await asyncio.gather(*(send(c) for c in calls)))
    retried = await asyncio.gather(*(send(c) for c in calls[::7]))  # retries count nothing

    progress = await _progress(channel, "rush", "u19")
    grants = await goal_grants(engine)
    qualified = {user for user, k in counts.items() if k >= 10}
    assert all(retried)
    assert (progress.total, progress.contributors, progress.my_contribution) == (380, 40, 14)
    assert [m.reached for m in progress.milestones] == [True, True, True, False]
    assert (progress.next_target, progress.to_next, progress.qualifies) == (1000, 620, True)
    assert len(grants) == len(set(grants)) == 3 * len(qualified)
    assert paid(grants, 100) == paid(grants, 250) == paid(grants, 380) == qualified
    assert ("u19", "goal:rush:milestone:380:u19:0") in grants


async def test_a_contributor_reaching_the_minimum_later_is_paid_while_the_goal_is_open(
    channel: grpc.aio.Channel, clock: MovableClock, engine: AsyncEngine
) -> None:
    now = clock.now()
    admin, sender = pb_grpc.GoalAdminServiceStub(channel), events_grpc.EventServiceStub(channel)
    await admin.UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("late", now, now + HOUR, [3, 6], minimum=2))
    )
    for user, n in [("alice", 3), ("bob", 1)]:
        for i in range(n):
            await sender.TrackEvent(_order(user, f"{user}-{i}"))
    assert paid(await goal_grants(engine), 3) == {"alice"}  # bob holds 1 of the 2 needed

    await sender.TrackEvent(_order("bob", "bob-1"))  # bob qualifies after milestone 3
    await sender.TrackEvent(_order("carol", "carol-0"))  # total 6: carol holds only 1
    await sender.TrackEvent(_order("carol", "carol-0"))  # a retry
    grants = await goal_grants(engine)
    assert (paid(grants, 3), paid(grants, 6)) == ({"alice", "bob"}, {"alice", "bob"})

    await sender.TrackEvent(_order("carol", "carol-1"))  # carol qualifies: both milestones
    assert paid(await goal_grants(engine), 6) == {"alice", "bob", "carol"}
    clock.current = now + HOUR  # closed: dave's events count for nothing
    for i in range(2):
        await sender.TrackEvent(_order("dave", f"dave-{i}"))
    grants = await goal_grants(engine)
    assert len(grants) == 6
    assert "dave" not in {user for user, _ in grants}
    ended = await _progress(channel, "late", "carol")
    assert (ended.total, ended.state, ended.time_left.ToTimedelta()) == (
        7,
        pb.GOAL_STATE_ENDED,
        dt.timedelta(0),
    )


async def test_the_window_is_start_inclusive_end_exclusive_and_fixed_once_started(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    start = clock.now() + HOUR
    admin, sender = pb_grpc.GoalAdminServiceStub(channel), events_grpc.EventServiceStub(channel)
    first = await admin.UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("edge", start, start + HOUR, [9]))
    )
    second = await admin.UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("edge", start, start + HOUR, [5]))
    )
    await sender.TrackEvent(_order("ann", "early"))
    upcoming = await _progress(channel, "edge", "ann")
    assert (first.goal.version, second.goal.version) == (1, 2)
    assert (upcoming.state, upcoming.total, upcoming.time_left.ToTimedelta()) == (
        pb.GOAL_STATE_UPCOMING,
        0,
        HOUR,
    )

    clock.current = start
    await sender.TrackEvent(_order("ann", "at-start"))
    await sender.TrackEvent(
        _order("ann", "occurred-before", occurred_at=timestamp(start - dt.timedelta(seconds=1)))
    )
    clock.current = start + HOUR - dt.timedelta(microseconds=1)
    await sender.TrackEvent(_order("ann", "last-instant"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await admin.UpsertGoal(pb.UpsertGoalRequest(goal=goal("edge", start, start + HOUR, [7])))
    clock.current = start + HOUR
    await sender.TrackEvent(_order("ann", "at-end"))

    ended = await _progress(channel, "edge", "ann")
    audited = await audit_grpc.AuditAdminServiceStub(channel).ListAuditEntries(
        audit_pb.ListAuditEntriesRequest(target_kind="goal", target_id="edge")
    )
    assert [(e.rpc, e.version_after) for e in audited.entries] == [
        ("GoalAdminService/UpsertGoal", 2), ("GoalAdminService/UpsertGoal", 1),
    ]  # fmt: skip
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (ended.total, ended.state, ended.goal.milestones[0].target) == (
        2,
        pb.GOAL_STATE_ENDED,
        5,
    )


async def test_only_members_count_for_a_team_goal_and_a_removed_member_is_not_paid(
    channel: grpc.aio.Channel, clock: MovableClock, engine: AsyncEngine
) -> None:
    now = clock.now()
    admin, sender = pb_grpc.GoalAdminServiceStub(channel), events_grpc.EventServiceStub(channel)
    created = await admin.CreateTeam(pb.CreateTeamRequest(team_id="reds", name="Reds"))
    again = await admin.CreateTeam(pb.CreateTeamRequest(team_id="reds", name="Reds"))
    await admin.AddTeamMembers(pb.AddTeamMembersRequest(team_id="reds", user_ids=["ann", "bo"]))
    await admin.UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("red-run", now, now + HOUR, [2, 4], team_id="reds"))
    )
    await admin.UpsertGoal(pb.UpsertGoalRequest(goal=goal("all-run", now, now + HOUR, [100])))
    for user, key in [("ann", "a1"), ("bo", "b1"), ("zed", "z1")]:
        await sender.TrackEvent(_order(user, key))
    removed = await admin.RemoveTeamMembers(
        pb.RemoveTeamMembersRequest(team_id="reds", user_ids=["bo", "nobody"])
    )
    for user, key in [("bo", "b2"), ("ann", "a2"), ("ann", "a3")]:
        await sender.TrackEvent(_order(user, key))

    outsider, reds = (
        await _progress(channel, "red-run", "zed"),
        await _progress(channel, "red-run", "bo"),
    )
    grants = await goal_grants(engine)
    listing = pb_grpc.GoalServiceStub(channel)
    mine = await listing.ListGoals(pb.ListGoalsRequest(user_id="ann", page_size=1))
    rest = await listing.ListGoals(
        pb.ListGoalsRequest(user_id="ann", page_size=1, page_token=mine.next_page_token)
    )
    others = await listing.ListGoals(pb.ListGoalsRequest(user_id="zed"))
    members = await admin.ListTeamMembers(pb.ListTeamMembersRequest(team_id="reds"))
    assert (created.created, again.created, removed.removed, removed.team.members) == (
        True,
        False,
        1,
        1,
    )
    assert (outsider.member, outsider.my_contribution) == (False, 0)
    assert (reds.total, reds.my_contribution, reds.member) == (4, 1, False)
    assert (paid(grants, 2), paid(grants, 4)) == ({"ann", "bo"}, {"ann"})
    assert [g.goal.goal_id for g in (*mine.goals, *rest.goals)] == ["all-run", "red-run"]
    assert [g.goal.goal_id for g in others.goals] == ["all-run"]
    assert [m.user_id for m in members.members] == ["ann"]


async def test_check_ins_count_for_a_check_in_goal_once_a_day(
    channel: grpc.aio.Channel, clock: MovableClock, engine: AsyncEngine
) -> None:
    now = clock.now()
    await pb_grpc.GoalAdminServiceStub(channel).UpsertGoal(
        pb.UpsertGoalRequest(
            goal=goal("visits", now, now + 3 * 24 * HOUR, [3], metric=pb.GOAL_METRIC_CHECK_IN)
        )
    )
    check_ins = check_in_grpc.CheckInServiceStub(channel)
    for user in ("ann", "bo", "ann"):
        await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id=user, timezone="UTC"))
    clock.advance(days=1)
    await check_ins.CheckIn(check_in_pb.CheckInRequest(user_id="ann"))

    progress = await _progress(channel, "visits", "ann")
    assert (progress.total, progress.my_contribution, progress.contributors) == (3, 2, 2)
    assert paid(await goal_grants(engine), 3) == {"ann", "bo"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"milestones": [pb.GoalMilestone(target=5)]}, "goal.milestones[0].rewards"),
        ({"event_types": []}, "goal.event_types"),
        ({"scope": 7}, "goal.scope"),
        ({"min_contribution": -1}, "goal.min_contribution"),
        ({"goal_id": "Bad Id"}, "goal.goal_id"),
    ],
)
async def test_a_malformed_goal_is_refused_naming_its_field(
    channel: grpc.aio.Channel, clock: MovableClock, change: dict[str, object], field: str
) -> None:
    now = clock.now()
    bad = goal("g", now, now + HOUR, [5])
    for name, value in change.items():
        bad.ClearField(name)  # type: ignore[arg-type]
        if isinstance(value, list):
            getattr(bad, name).extend(value)
        else:
            setattr(bad, name, value)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await pb_grpc.GoalAdminServiceStub(channel).UpsertGoal(pb.UpsertGoalRequest(goal=bad))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(refused.value.details()).startswith(field)


async def test_unknown_goals_and_teams_are_not_found(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now, admin = clock.now(), pb_grpc.GoalAdminServiceStub(channel)
    calls: list[Awaitable[object]] = [
        pb_grpc.GoalServiceStub(channel).GetGoal(pb.GetGoalRequest(goal_id="nope", user_id="a")),
        admin.UpsertGoal(
            pb.UpsertGoalRequest(goal=goal("g", now, now + HOUR, [1], team_id="nope"))
        ),
        admin.AddTeamMembers(pb.AddTeamMembersRequest(team_id="nope", user_ids=["a"])),
        admin.ListTeamMembers(pb.ListTeamMembersRequest(team_id="nope")),
        admin.GetGoalDefinition(pb.GetGoalDefinitionRequest(goal_id="nope")),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await call
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert "'nope'" in str(missing.value.details())


async def test_game_ops_read_each_current_definition_ended_ones_too_newest_first(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now, admin = clock.now(), pb_grpc.GoalAdminServiceStub(channel)
    await admin.UpsertGoal(pb.UpsertGoalRequest(goal=goal("short", now, now + HOUR, [5])))
    for targets in ([5], [5, 9]):  # a second version before it starts keeps its place
        later = goal("later", now + HOUR, now + 2 * HOUR, targets)
        await admin.UpsertGoal(pb.UpsertGoalRequest(goal=later))
    await admin.UpsertGoal(pb.UpsertGoalRequest(goal=goal("long", now, now + 24 * HOUR, [5])))
    clock.current = now + HOUR  # "short" has ended

    ended = await admin.GetGoalDefinition(pb.GetGoalDefinitionRequest(goal_id="short"))
    current = await admin.GetGoalDefinition(pb.GetGoalDefinitionRequest(goal_id="later"))
    first = await admin.ListGoalDefinitions(pb.ListGoalDefinitionsRequest(page_size=2))
    rest = await admin.ListGoalDefinitions(
        pb.ListGoalDefinitionsRequest(page_size=2, page_token=first.next_page_token)
    )
    everything = await admin.ListGoalDefinitions(pb.ListGoalDefinitionsRequest())
    stored = goal("short", now, now + HOUR, [5])
    stored.version = 1
    assert ended.goal == stored
    later.version = 2
    assert current.goal == later
    assert [g.goal_id for g in (*first.goals, *rest.goals)] == ["long", "later", "short"]
    assert (rest.next_page_token, list(everything.goals)) == ("", [*first.goals, *rest.goals])


async def test_a_malformed_definition_read_is_refused_naming_its_field(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now, admin = clock.now(), pb_grpc.GoalAdminServiceStub(channel)
    for goal_id in ("a", "b"):
        await admin.UpsertGoal(pb.UpsertGoalRequest(goal=goal(goal_id, now, now + HOUR, [5])))
    players = await pb_grpc.GoalServiceStub(channel).ListGoals(
        pb.ListGoalsRequest(user_id="ann", page_size=1)
    )
    get, list_ = admin.GetGoalDefinition, admin.ListGoalDefinitions
    cases: list[tuple[Callable[[Any], Awaitable[object]], Message, str]] = [
        (get, pb.GetGoalDefinitionRequest(goal_id="Bad Id"), "goal_id"),
        (list_, pb.ListGoalDefinitionsRequest(page_size=501), "page_size: must be at most 500"),
        (list_, pb.ListGoalDefinitionsRequest(page_size=-1), "page_size"),
        (list_, pb.ListGoalDefinitionsRequest(page_token="x.y"), "page_token"),
        (list_, pb.ListGoalDefinitionsRequest(page_token=players.next_page_token),
         "page_token: was issued for other filters"),
    ]  # fmt: skip
    for rpc, request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await rpc(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(refused.value.details()).startswith(field)


async def test_a_users_contributions_and_memberships_are_exported_and_erased(
    channel: grpc.aio.Channel, clock: MovableClock
) -> None:
    now, admin = clock.now(), pb_grpc.GoalAdminServiceStub(channel)
    await admin.CreateTeam(pb.CreateTeamRequest(team_id="blues", name="Blues"))
    await admin.AddTeamMembers(pb.AddTeamMembersRequest(team_id="blues", user_ids=["ann", "bo"]))
    await admin.UpsertGoal(
        pb.UpsertGoalRequest(goal=goal("blue", now, now + HOUR, [9], team_id="blues"))
    )
    await events_grpc.EventServiceStub(channel).TrackEvent(_order("ann", "a1"))
    privacy = privacy_grpc.PrivacyAdminServiceStub(channel)

    exported = await privacy.ExportUserData(privacy_pb.ExportUserDataRequest(user_id="ann"))
    erased = await privacy.DeleteUserData(
        privacy_pb.DeleteUserDataRequest(user_id="ann", reason="erasure request 1")
    )
    after = await _progress(channel, "blue", "ann")
    members = await admin.ListTeamMembers(pb.ListTeamMembersRequest(team_id="blues"))
    tables = {t.table: [json.loads(r) for r in t.rows_json] for t in exported.data.other_tables}
    assert [(r["goal_id"], r["amount"]) for r in tables["goal_contributions"]] == [("blue", 1)]
    assert [r["team_id"] for r in tables["team_members"]] == ["blues"]
    assert (erased.deleted_rows["goal_contributions"], erased.deleted_rows["team_members"]) == (
        1,
        1,
    )
    # The team's total is everyone's: it stays, without the erased user's share in it.
    assert (after.total, after.my_contribution, after.member) == (1, 0, False)
    assert [m.user_id for m in members.members] == ["bo"]
