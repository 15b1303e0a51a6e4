"""`engagement apply`, `diff` and `get` against a real server: idempotency, drift, dry runs,
and validation errors that name the file, line and field before anything is sent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import grpc
import pytest

from engagement_client.gen.engagement.v1 import definitions_pb2 as defs_pb
from engagement_client.gen.engagement.v1 import goals_pb2 as goals_pb
from engagement_client.gen.engagement.v1 import goals_pb2_grpc as goals_grpc
from engagement_client.gen.engagement.v1 import leaderboard_pb2 as board_pb
from engagement_client.gen.engagement.v1 import leaderboard_pb2_grpc as board_grpc
from engagement_client.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from engagement_client.gen.engagement.v1 import rules_admin_pb2_grpc as admin_grpc
from service.entrypoints.grpc_api.server import RunningServer
from tests.support.clock import MovableClock
from tests.support.ops_cli import engagement

pytestmark = pytest.mark.e2e

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "game")


async def _tasks(channel: grpc.aio.Channel) -> dict[str, defs_pb.TaskDefinition]:
    listed = await admin_grpc.RulesAdminServiceStub(channel).ListDefinitions(
        admin_pb.ListDefinitionsRequest(kind=defs_pb.DEFINITION_KIND_TASK)
    )
    return {d.task.task_id: d.task for d in listed.definitions}


async def test_applying_the_example_twice_changes_nothing_the_second_time(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    first = await engagement("apply", "-f", EXAMPLE, port=server.port)
    assert first.code == 0, first.err
    assert "task daily-order: create" in first.out
    assert "board weekly-spenders: create" in first.out
    assert "check_in_program default: create" in first.out
    assert "new -> 1" in first.out

    again = await engagement("apply", "-f", EXAMPLE, port=server.port)
    assert again.code == 0, again.err
    assert again.out.strip() == "Nothing to change: the 33 resources match what is live."
    drift = await engagement("diff", "-f", EXAMPLE, port=server.port)
    assert drift.code == 0
    assert drift.out.strip().endswith("33 unchanged.\nNo drift: what is live matches the files.")
    tasks = await _tasks(channel)
    assert {task.version for task in tasks.values()} == {1}
    assert tasks["black-friday"].ends_on == "2026-11-30"
    boards = board_grpc.LeaderboardAdminServiceStub(channel)
    board = await boards.GetBoard(board_pb.GetBoardRequest(board_id="weekly-spenders"))
    assert (board.board.version, board.board.timezone) == (1, "Europe/Berlin")


async def test_drift_is_shown_and_apply_puts_it_back_with_a_new_version(
    server: RunningServer, channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    assert (await engagement("apply", "-f", EXAMPLE, port=server.port)).code == 0
    tasks = await _tasks(channel)
    changed = tasks["daily-order"]
    changed.title = "Changed by hand"
    admin = admin_grpc.RulesAdminServiceStub(channel)
    stray = defs_pb.TaskDefinition(
        task_id="stray", title="Not in any file", event_type="x",
        tiers=[defs_pb.TaskTier(target=1)],
    )  # fmt: skip
    for task in (changed, stray):
        await admin.UpsertDefinition(
            admin_pb.UpsertDefinitionRequest(definition=defs_pb.Definition(task=task))
        )

    drift = await engagement("diff", "-f", EXAMPLE, port=server.port)
    assert drift.code == 1
    assert "task daily-order: update (live version 2)" in drift.out
    assert "-title: Changed by hand" in drift.out
    assert "+title: Order anything today" in drift.out
    assert "task stray: live, in no file" in drift.out

    fixed = await engagement("apply", "-f", EXAMPLE, port=server.port)
    assert fixed.code == 0, fixed.err
    assert "2 -> 3" in fixed.out
    assert (await _tasks(channel))["daily-order"].title == "Order anything today"
    assert "32 unchanged." in fixed.out


async def test_a_dry_run_shows_the_diff_and_sends_nothing(
    server: RunningServer, channel: grpc.aio.Channel
) -> None:
    planned = await engagement("apply", "--dry-run", "-f", EXAMPLE, port=server.port)
    assert planned.code == 0, planned.err
    assert "+task_id: invite-friends" in planned.out
    assert "Dry run: 33 to change, nothing sent." in planned.out
    assert await _tasks(channel) == {}


async def test_invalid_files_name_file_line_and_field_and_nothing_is_sent(
    server: RunningServer, channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    (tmp_path / "a-good.yaml").write_text(
        "kind: task\nspec:\n  task_id: fine\n  title: Fine\n  event_type: x\n"
        "  tiers: [{target: 1}]\n"
    )
    (tmp_path / "b-bad.yaml").write_text(
        "kind: task\n"
        "spec:\n"
        "  task_id: broken\n"
        "  cadence: hourly\n"
        "  tiers:\n"
        "    - target: lots\n"
        "  colour: red\n"
        "---\n"
        "kind: quest\n"
        "spec: {}\n"
    )
    (tmp_path / "c-twice.yaml").write_text("kind: task\nspec: {task_id: fine}\n")
    result = await engagement("apply", "-f", str(tmp_path), port=server.port)
    bad = tmp_path / "b-bad.yaml"
    assert result.code == 2
    assert "nothing was sent" in result.err
    assert f"{bad}:4: spec.cadence: 'hourly' is not one of" in result.err
    assert f"{bad}:6: spec.tiers[0].target: 'lots' is not of type 'integer'" in result.err
    assert f"{bad}:7: spec.colour: is not a field here" in result.err
    assert f"{bad}:9: kind: 'quest' is not one of" in result.err
    assert "c-twice.yaml:1: spec: task fine is defined already at" in result.err
    assert "Traceback" not in result.err
    assert await _tasks(channel) == {}


async def test_a_refusal_by_the_service_names_the_document(
    server: RunningServer, tmp_path: Path
) -> None:
    (tmp_path / "game.yaml").write_text(
        "kind: task\nspec:\n  task_id: t\n  title: T\n  event_type: x\n  tiers: []\n"
    )
    result = await engagement("apply", "-f", str(tmp_path), port=server.port)
    assert result.code == 2
    assert f"{tmp_path / 'game.yaml'}:1: task t: INVALID_ARGUMENT: " in result.err
    assert "tiers" in result.err


async def test_get_prints_tables_and_game_files_that_apply_back_unchanged(
    server: RunningServer, tmp_path: Path
) -> None:
    assert (await engagement("apply", "-f", EXAMPLE, port=server.port)).code == 0
    table = await engagement("get", "boards", port=server.port)
    assert table.code == 0
    assert "weekly-spenders" in table.out
    assert "Top spenders of the week" in table.out
    exported = await engagement("get", "task", "-o", "yaml", port=server.port)
    (tmp_path / "tasks.yaml").write_text(exported.out)
    assert "task_id: vip-challenge" in exported.out
    drift = await engagement("diff", "-f", str(tmp_path / "tasks.yaml"), port=server.port)
    assert drift.code == 0, drift.out
    missing = await engagement("get", "badge", "nope", port=server.port)
    assert (missing.code, missing.err.strip()) == (5, "engagement: not found: badge nope")


def _goals(start: dt.datetime, count: int) -> str:
    """A team goal and `count` community goals, all opening at `start`."""
    window = f"starts_at: {start:%Y-%m-%dT%H:%M:%SZ}\n  ends_at: 2026-04-01T00:00:00Z\n"
    team = (
        "kind: goal\nspec:\n  goal_id: reds-orders\n  title: Orders together\n"
        f"  scope: team\n  team_id: reds\n  metric: event_count\n  event_types: [order.paid]\n"
        f"  {window}  min_contribution: 3\n"
        "  milestones: [{target: 50, rewards: [{kind: points, amount: 100}]}]\n"
    )
    community = [
        f"kind: goal\nspec:\n  goal_id: visits-{n}\n  title: Check-ins\n  scope: community\n"
        f"  metric: check_in\n  {window}  milestones: [{{target: 9, rewards: [{{kind: xp, "
        "amount: 5}]}]\n"
        for n in range(count)
    ]
    return "---\n".join([team, *community])


async def test_goals_apply_once_over_every_page_and_are_fixed_once_started(
    server: RunningServer, channel: grpc.aio.Channel, clock: MovableClock, tmp_path: Path
) -> None:
    await goals_grpc.GoalAdminServiceStub(channel).CreateTeam(
        goals_pb.CreateTeamRequest(team_id="reds", name="Reds")
    )
    start = clock.now() + dt.timedelta(days=1)
    game = tmp_path / "goals.yaml"
    game.write_text(_goals(start, 50))  # 51 goals: more than a page of ListGoalDefinitions

    first = await engagement("apply", "-f", str(game), port=server.port)
    again = await engagement("apply", "-f", str(game), port=server.port)
    exported = await engagement("get", "goals", "-o", "yaml", port=server.port)
    (tmp_path / "exported.yaml").write_text(exported.out)
    drift = await engagement("diff", "-f", str(tmp_path / "exported.yaml"), port=server.port)
    assert first.code == 0, first.err
    assert "goal reds-orders: create" in first.out
    assert again.out.strip() == "Nothing to change: the 51 resources match what is live."
    assert "min_contribution: 3" in exported.out
    assert drift.code == 0, drift.out

    clock.current = start  # started: the same file changes nothing, a changed one is refused
    unchanged = await engagement("apply", "-f", str(game), port=server.port)
    game.write_text(game.read_text().replace("Orders together", "Orders as a team"))
    refused = await engagement("apply", "-f", str(game), port=server.port)
    stored = await goals_grpc.GoalAdminServiceStub(channel).GetGoalDefinition(
        goals_pb.GetGoalDefinitionRequest(goal_id="reds-orders")
    )
    assert unchanged.out.strip() == "Nothing to change: the 51 resources match what is live."
    assert refused.code == 1
    assert f"{game}:1: goal reds-orders: FAILED_PRECONDITION: goal reds-orders started" in (
        refused.err
    )
    assert (stored.goal.title, stored.goal.version) == ("Orders together", 1)
