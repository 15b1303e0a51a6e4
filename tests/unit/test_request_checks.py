"""The request walker: every string, timestamp, double, enum, list and map of any request."""

from __future__ import annotations

import unicodedata

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from service.domain.errors import InvalidArgument
from service.entrypoints.grpc_api.request_checks import (
    MAX_ENTRIES,
    MAX_ITEMS,
    MAX_SECONDS,
    MAX_TEXT,
    MIN_SECONDS,
    RequestChecks,
)
from service.gen.engagement.v1 import definitions_pb2 as defs
from service.gen.engagement.v1 import events_pb2 as events_pb
from service.gen.engagement.v1 import grants_pb2 as grants_pb
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import rewards_pb2
from service.gen.engagement.v1 import rules_admin_pb2 as admin_pb


def _refusal(message: Message) -> str:
    with pytest.raises(InvalidArgument) as excinfo:
        RequestChecks().check(message)
    return str(excinfo.value)


def _task(**fields: object) -> admin_pb.UpsertDefinitionRequest:
    return admin_pb.UpsertDefinitionRequest(
        definition=defs.Definition(task=defs.TaskDefinition(**fields))  # type: ignore[arg-type]
    )


def test_a_well_formed_request_passes() -> None:
    event = events_pb.TrackEventRequest(
        user_id="ana", type="buy", value=3, attributes={"shop": "Café Zoë"},
        occurred_at=Timestamp(seconds=1_700_000_000, nanos=5), idempotency_key="k",
        timezone="Europe/Berlin",
    )  # fmt: skip
    RequestChecks().check(event)
    RequestChecks().check(events_pb.TrackEventsRequest(events=[event] * 500))
    RequestChecks().check(_task(title="Buy\u00a0things", description="One\n\ttwo"))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            board_pb.SetMemberMetadataRequest(display_name="a\x00"),
            "display_name: must not contain control characters",
        ),
        (_task(title="a\x00"), "definition.task.title: must not contain control characters"),
        (_task(title="a\nb"), "definition.task.title: must not contain control characters"),
        (_task(description="a\rb"), "definition.task.description: must not contain control"),
        (
            _task(conditions=[defs.Condition(operands=["ok", "no\x7f"])]),
            "definition.task.conditions[0].operands[1]: must not contain control characters",
        ),
        (
            _task(tiers=[defs.TaskTier(), defs.TaskTier(badge_id="b\u202e")]),
            "definition.task.tiers[1].badge_id: must not contain control characters",
        ),
        (
            events_pb.TrackEventsRequest(
                events=[events_pb.TrackEventRequest(), events_pb.TrackEventRequest(type="\x1b")]
            ),
            "events[1].type: must not contain control characters",
        ),
        (
            events_pb.TrackEventRequest(attributes={"shop": "x\x00"}),
            'attributes["shop"]: must not contain control characters',
        ),
        (
            events_pb.TrackEventRequest(attributes={"sh\x00p": "x"}),
            "attributes: keys must not contain control characters",
        ),
        (grants_pb.ListGrantsRequest(cause_ref="x" * (MAX_TEXT + 1)), "cause_ref: must be at"),
    ],
)
def test_text_with_controls_or_too_long_names_the_path(message: Message, expected: str) -> None:
    assert _refusal(message).startswith(expected)


@pytest.mark.parametrize(
    ("stamp", "rule"),
    [
        (Timestamp(seconds=MAX_SECONDS + 1), "years 1 to 9999"),
        (Timestamp(seconds=MIN_SECONDS - 1), "years 1 to 9999"),
        (Timestamp(seconds=0, nanos=1_000_000_000), "nanos"),
        (Timestamp(seconds=0, nanos=-1), "nanos"),
    ],
)
def test_timestamps_out_of_range_are_refused(stamp: Timestamp, rule: str) -> None:
    message = board_pb.UpsertBoardRequest(
        board=board_pb.Board(period=board_pb.Period(season_start=stamp))
    )
    refusal = _refusal(message)
    assert refusal.startswith("board.period.season_start: ")
    assert rule in refusal


def test_the_edges_of_the_timestamp_range_pass() -> None:
    for seconds in (MIN_SECONDS, MAX_SECONDS):
        RequestChecks().check(
            grants_pb.ListGrantsRequest(created_after=Timestamp(seconds=seconds, nanos=999_999_999))
        )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_doubles_are_refused(value: float) -> None:
    message = admin_pb.UpsertDefinitionRequest(
        definition=defs.Definition(levels=defs.LevelTable(exponent=value))
    )
    assert _refusal(message) == "definition.levels.exponent: must be a finite number"


def test_unknown_enum_numbers_are_refused_in_singles_and_lists() -> None:
    assert _refusal(grants_pb.ListGrantsRequest(status=9)).startswith(  # type: ignore[arg-type]
        "status: unknown enum value 9"
    )
    boost = defs.BoostDefinition(reward_kinds=[rewards_pb2.REWARD_KIND_XP, 12])  # type: ignore[list-item]
    message = admin_pb.UpsertDefinitionRequest(definition=defs.Definition(boost=boost))
    assert _refusal(message).startswith("definition.boost.reward_kinds[1]: unknown enum value 12")


def test_lists_and_maps_are_bounded() -> None:
    ids = grants_pb.RetryDeadGrantsRequest(grant_ids=["g"] * (MAX_ITEMS + 1))
    assert _refusal(ids) == f"grant_ids: must hold at most {MAX_ITEMS} items"
    event = events_pb.TrackEventRequest(attributes={str(i): "" for i in range(MAX_ENTRIES + 1)})
    assert _refusal(event) == f"attributes: must hold at most {MAX_ENTRIES} entries"
    days = _task(active_weekdays=[1] * (MAX_ITEMS + 1))
    assert _refusal(days) == f"definition.task.active_weekdays: must hold at most {MAX_ITEMS} items"


def test_types_without_anything_to_check_are_skipped() -> None:
    checks = RequestChecks()
    checks.check(grants_pb.GetGrantStatsRequest())
    checks.check(board_pb.ListBoardsRequest())
    assert checks._plan(grants_pb.GetGrantStatsRequest.DESCRIPTOR) is None
    assert checks._plan(events_pb.TrackEventRequest.DESCRIPTOR) is not None


def _has_control(text: str) -> bool:
    """The oracle: a C0/C1 control, DEL, a line separator or a bidirectional override."""
    specials = "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    return any(unicodedata.category(c) == "Cc" or c in specials for c in text)


@given(
    st.text(max_size=50),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5),
)
def test_text_is_refused_exactly_when_it_holds_a_control(
    text: str, attributes: dict[str, str]
) -> None:
    event = events_pb.TrackEventRequest(user_id=text, attributes=attributes)
    texts = [text, *attributes, *attributes.values()]
    if any(_has_control(t) for t in texts):
        with pytest.raises(InvalidArgument, match="control characters"):
            RequestChecks().check(event)
    else:
        RequestChecks().check(event)
