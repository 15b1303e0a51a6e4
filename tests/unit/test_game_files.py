"""Game files without a server: the schema is fresh, and problems name file, line and field."""

from __future__ import annotations

from engagement_client import is_idempotent
from engagement_client.gen.engagement.v1 import (
    check_in_pb2,
    definitions_pb2,
    events_pb2,
    goals_pb2,
    leaderboard_pb2,
    rules_admin_pb2,
)
from service.game.loader import load_text
from service.game.messages import canonical, to_spec
from service.game.schema import SCHEMA_FILE, generate, read_comments, render


def test_the_committed_schema_is_generated_from_the_protos() -> None:
    assert SCHEMA_FILE.read_text() == render(generate(read_comments())), (
        "service/game/game.schema.json is stale: run python -m service.game.schema"
    )


def test_the_schema_documents_every_field_of_every_kind() -> None:
    schema = generate(read_comments())
    kinds = schema["properties"]["kind"]["enum"]
    assert kinds == [
        "check_in_program", "levels", "board", "cap", "boost", "badge", "task", "league",
        "duel_type", "goal",
    ]  # fmt: skip
    undocumented = [
        f"{name}.{field}"
        for name, definition in schema["$defs"].items()
        for field, spec in definition.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undocumented == []
    assert "Each local calendar day" in str(schema["$defs"]["spec.task"]["properties"]["cadence"])
    assert "version" not in schema["$defs"]["spec.task"]["properties"]


def test_problems_name_the_file_line_and_field_and_good_documents_still_load() -> None:
    text = (
        "kind: boost\n"
        "spec:\n"
        "  boost_id: ok\n"
        "  title: Fine\n"
        "  multiplier_percent: 150\n"
        "  starts_at: 2026-12-20T00:00:00Z\n"
        "---\n"
        "kind: cap\n"
        "spec:\n"
        "  cap_id: c\n"
        "  kind: user_period\n"
        "  limit: 1.5\n"
        "  title: T\n"
        "  title: again\n"
    )
    resources, problems = load_text(text, "caps.yaml")
    assert [(r.kind.name, r.id, r.line) for r in resources] == [("boost", "ok", 1)]
    boost = resources[0].message
    assert isinstance(boost, definitions_pb2.BoostDefinition)
    assert boost.starts_at.seconds > 0  # a time stays text until its field reads it
    assert [str(p) for p in problems] == ["caps.yaml:14: spec.title: is given twice"]
    _, problems = load_text(text.replace("  title: again\n", ""), "caps.yaml")
    assert [str(p) for p in problems] == ["caps.yaml:12: spec.limit: 1.5 is not of type 'integer'"]
    _, problems = load_text("kind: task\nspec: [\n", "broken.yaml")
    assert str(problems[0]).startswith("broken.yaml:3: not valid YAML")


def test_defaults_the_service_fills_in_compare_equal_to_leaving_them_out() -> None:
    written = leaderboard_pb2.Board(
        board_id="b", period=leaderboard_pb2.Period(kind=leaderboard_pb2.PERIOD_KIND_ALL_TIME)
    )
    stored = leaderboard_pb2.Board(
        board_id="b",
        timezone="UTC",
        version=3,
        period=leaderboard_pb2.Period(kind=leaderboard_pb2.PERIOD_KIND_ALL_TIME, week_start=1),
    )
    skip = ("version", "created_at")
    assert canonical(written, skip) == canonical(stored, skip)
    period = {"kind": "all_time", "week_start": 1}
    assert to_spec(stored, skip) == {"board_id": "b", "period": period, "timezone": "UTC"}
    goal = goals_pb2.Goal(goal_id="g")
    assert canonical(goal, skip) == canonical(goals_pb2.Goal(goal_id="g", min_contribution=1), skip)
    assert canonical(goal, skip) != canonical(goals_pb2.Goal(goal_id="g", min_contribution=3), skip)


def test_only_reads_and_keyed_writes_are_retried() -> None:
    keyed = events_pb2.TrackEventRequest(idempotency_key="k")
    assert is_idempotent("/engagement.v1.RulesAdminService/GetDefinition",
                         rules_admin_pb2.GetDefinitionRequest())  # fmt: skip
    assert is_idempotent(b"/engagement.v1.EventService/TrackEvent", keyed)
    assert not is_idempotent(
        "/engagement.v1.EventService/TrackEvent", events_pb2.TrackEventRequest()
    )
    assert is_idempotent("/x/TrackEvents", events_pb2.TrackEventsRequest(events=[keyed, keyed]))
    assert not is_idempotent(
        "/x/TrackEvents",
        events_pb2.TrackEventsRequest(events=[keyed, events_pb2.TrackEventRequest()]),
    )
    assert not is_idempotent("/x/TrackEvents", events_pb2.TrackEventsRequest())
    assert not is_idempotent("/x/UpsertDefinition", rules_admin_pb2.UpsertDefinitionRequest())
    assert not is_idempotent("/engagement.v1.CheckInService/CheckIn", check_in_pb2.CheckInRequest())
    assert not is_idempotent("/x/FinalizePeriod", leaderboard_pb2.FinalizePeriodRequest())
