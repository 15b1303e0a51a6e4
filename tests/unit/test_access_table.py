"""The access table covers exactly the RPCs of engagement.v1, and reads fields that exist."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from service.entrypoints.grpc_api.access import (
    ACCESS,
    KNOWN_SCOPES,
    OPS,
    PLAYER,
    SERVICE,
    denial,
    is_open,
)
from service.entrypoints.grpc_api.services import SERVICE_NAMES
from service.gen.engagement import v1
from service.gen.engagement.v1 import check_in_pb2, leaderboard_pb2


def _methods() -> dict[str, MethodDescriptor]:
    methods: dict[str, MethodDescriptor] = {}
    for module in pkgutil.iter_modules(v1.__path__):
        if module.name.endswith("_pb2"):
            descriptor = importlib.import_module(f"{v1.__name__}.{module.name}").DESCRIPTOR
            for service in descriptor.services_by_name.values():
                for method in service.methods:
                    methods[f"/{service.full_name}/{method.name}"] = method
    return methods


METHODS = _methods()


def test_the_descriptors_hold_the_services_we_serve() -> None:
    assert "/engagement.v1.CheckInService/CheckIn" in METHODS
    assert len(METHODS) >= 38


def test_the_server_offers_every_service_of_the_protos() -> None:
    declared = {method.containing_service.full_name for method in METHODS.values()}

    assert set(SERVICE_NAMES) == declared


def test_every_rpc_has_an_access_rule() -> None:
    missing = sorted(set(METHODS) - set(ACCESS))
    assert not missing, f"add an entry to ACCESS in access.py for: {missing}"


def test_every_access_rule_names_an_existing_rpc() -> None:
    unknown = sorted(set(ACCESS) - set(METHODS))
    assert not unknown, f"ACCESS names RPCs that do not exist: {unknown}"


@pytest.mark.parametrize("method", sorted(ACCESS))
def test_rules_use_known_scopes_and_string_user_fields(method: str) -> None:
    access = ACCESS[method]
    assert access.scopes
    assert access.scopes <= KNOWN_SCOPES
    if access.user_field is not None:
        assert PLAYER in access.scopes
        field = METHODS[method].input_type.fields_by_name[access.user_field]
        assert field.type == FieldDescriptor.TYPE_STRING
        assert not field.is_repeated


@pytest.mark.parametrize("method", sorted(ACCESS))
def test_admin_services_are_for_ops_and_nothing_else_is(method: str) -> None:
    service = method.split("/")[1]
    assert (ACCESS[method].scopes == {OPS}) == service.endswith("AdminService")


def test_events_and_scores_are_for_services_only() -> None:
    for method in ("EventService/TrackEvent", "EventService/TrackEvents",
                   "LeaderboardService/SubmitScore"):  # fmt: skip
        assert ACCESS[f"/engagement.v1.{method}"].scopes == {SERVICE}


def test_health_and_reflection_are_open_and_our_services_are_not() -> None:
    assert is_open("/grpc.health.v1.Health/Check")
    assert is_open("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert not any(is_open(method) for method in METHODS)


CHECK_IN = ACCESS["/engagement.v1.CheckInService/CheckIn"]


def test_a_player_acts_for_itself_only() -> None:
    own = check_in_pb2.CheckInRequest(user_id="ann")
    other = check_in_pb2.CheckInRequest(user_id="bob")

    assert denial(CHECK_IN, "ann", frozenset({PLAYER}), own) is None
    assert denial(CHECK_IN, "ann", frozenset({PLAYER}), other) == (
        "user_id: a player may act only for itself"
    )


def test_a_service_acts_for_anyone_even_when_it_is_a_player_too() -> None:
    other = check_in_pb2.CheckInRequest(user_id="bob")

    assert denial(CHECK_IN, "orders", frozenset({SERVICE}), other) is None
    assert denial(CHECK_IN, "ann", frozenset({PLAYER, SERVICE}), other) is None


def test_a_scope_the_rule_lacks_is_denied_naming_the_needed_scope() -> None:
    request = check_in_pb2.CheckInRequest(user_id="ann")

    assert denial(CHECK_IN, "ann", frozenset({OPS}), request) == (
        "this call needs the scope player or service"
    )
    assert denial(CHECK_IN, "ann", frozenset(), request) is not None


def test_a_player_reads_a_whole_board_but_not_another_members_rank() -> None:
    top = ACCESS["/engagement.v1.LeaderboardService/GetLeaderboard"]
    rank = ACCESS["/engagement.v1.LeaderboardService/GetRank"]
    player = frozenset({PLAYER})

    assert denial(top, "ann", player, leaderboard_pb2.GetLeaderboardRequest()) is None
    assert denial(rank, "ann", player, leaderboard_pb2.GetRankRequest(member_id="ann")) is None
    assert denial(rank, "ann", player, leaderboard_pb2.GetRankRequest(member_id="bob"))
