"""The kinds of a game file, each with its message and the admin calls that read and write it.

A new kind is one more `Kind` in `KINDS`: the schema, loader, diff and apply
take it from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.message import Message

from engagement_client import EngagementClient
from engagement_client.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from engagement_client.gen.engagement.v1 import definitions_pb2 as defs_pb
from engagement_client.gen.engagement.v1 import goals_pb2 as goals_pb
from engagement_client.gen.engagement.v1 import leaderboard_pb2 as board_pb
from engagement_client.gen.engagement.v1 import leagues_pb2 as leagues_pb
from engagement_client.gen.engagement.v1 import rules_admin_pb2 as admin_pb
from engagement_client.gen.engagement.v1 import social_pb2 as social_pb

SINGLETON_ID = "default"

Get = Callable[[EngagementClient, str], Awaitable[Message | None]]
ListAll = Callable[[EngagementClient], Awaitable[list[Message]]]
Upsert = Callable[[EngagementClient, Message], Awaitable[Message]]


@dataclass(frozen=True)
class Kind:
    """One kind of game resource."""

    name: str
    message: type[Message]
    # The spec field holding the id; empty for a singleton (its id is "default").
    id_field: str
    get: Get
    list_all: ListAll
    upsert: Upsert
    # Fields the service sets; never written, never compared.
    output_only: tuple[str, ...] = ("version", "archived", "created_at")

    def id_of(self, message: Message) -> str:
        return str(getattr(message, self.id_field)) if self.id_field else SINGLETON_ID

    def version_of(self, message: Message) -> int:
        return int(getattr(message, "version", 0))


def _rules_kind(
    name: str, kind: defs_pb.DefinitionKind.ValueType, oneof: str, message: type[Message],
    id_field: str,
) -> Kind:  # fmt: skip
    async def get(client: EngagementClient, definition_id: str) -> Message | None:
        request = admin_pb.GetDefinitionRequest(kind=kind, definition_id=definition_id)
        try:
            answer = await client.rules_admin.GetDefinition(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        found: Message = getattr(answer.definition, oneof)
        return found

    async def list_all(client: EngagementClient) -> list[Message]:
        answer = await client.rules_admin.ListDefinitions(
            admin_pb.ListDefinitionsRequest(kind=kind)
        )
        return [getattr(definition, oneof) for definition in answer.definitions]

    async def upsert(client: EngagementClient, spec: Message) -> Message:
        definition = wrap(oneof, spec)
        request = admin_pb.UpsertDefinitionRequest(definition=definition)
        answer = await client.rules_admin.UpsertDefinition(request)
        stored: Message = getattr(answer.definition, oneof)
        return stored

    return Kind(name, message, id_field, get, list_all, upsert)


def wrap(oneof: str, spec: Message) -> defs_pb.Definition:
    """The Definition whose `oneof` field holds `spec`."""
    definition = defs_pb.Definition()
    getattr(definition, oneof).CopyFrom(spec)
    return definition


async def _get_program(client: EngagementClient, _: str) -> Message | None:
    answer = await client.check_in_admin.GetCheckInProgram(program_pb.GetCheckInProgramRequest())
    # Version 0 is the built-in program: nothing was configured yet.
    return answer.program if answer.program.version else None


async def _list_programs(client: EngagementClient) -> list[Message]:
    found = await _get_program(client, SINGLETON_ID)
    return [] if found is None else [found]


async def _upsert_program(client: EngagementClient, spec: Message) -> Message:
    assert isinstance(spec, program_pb.CheckInProgram)
    request = program_pb.UpdateCheckInProgramRequest(program=spec)
    return (await client.check_in_admin.UpdateCheckInProgram(request)).program


def _admin_kind(
    name: str, message: type[Message], id_field: str, stub: Callable[[EngagementClient], Any],
    requests: ModuleType, field: str, *, calls: tuple[str, str, str],
) -> Kind:  # fmt: skip
    """A kind an admin service reads with `Get…(id_field=…)`, lists with `List…()` (page by
    page, where it answers a `next_page_token`) and writes with `Upsert…(field=…)`, each
    answering the message in `field` (`field`s for a list)."""
    get_name, list_name, upsert_name = calls

    async def get(client: EngagementClient, resource_id: str) -> Message | None:
        request = getattr(requests, f"{get_name}Request")(**{id_field: resource_id})
        try:
            answer = await getattr(stub(client), get_name)(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        found: Message = getattr(answer, field)
        return found

    async def list_all(client: EngagementClient) -> list[Message]:
        found: list[Message] = []
        page: dict[str, str] = {}
        while True:
            request = getattr(requests, f"{list_name}Request")(**page)
            answer = await getattr(stub(client), list_name)(request)
            found.extend(getattr(answer, f"{field}s"))
            if not getattr(answer, "next_page_token", ""):
                return found
            page = {"page_token": answer.next_page_token}

    async def upsert(client: EngagementClient, spec: Message) -> Message:
        request = getattr(requests, f"{upsert_name}Request")(**{field: spec})
        stored: Message = getattr(await getattr(stub(client), upsert_name)(request), field)
        return stored

    return Kind(name, message, id_field, get, list_all, upsert,
                output_only=("version", "created_at", "archived"))  # fmt: skip


# In the order apply writes them: what a later kind names must exist first (a task's tier
# awards a badge; a badge may rank on a board).
KINDS: tuple[Kind, ...] = (
    Kind(
        "check_in_program", program_pb.CheckInProgram, "", _get_program, _list_programs,
        _upsert_program, output_only=("version", "created_at"),
    ),
    _rules_kind("levels", defs_pb.DEFINITION_KIND_LEVELS, "levels", defs_pb.LevelTable, ""),
    _admin_kind("board", board_pb.Board, "board_id", lambda c: c.leaderboard_admin, board_pb,
                "board", calls=("GetBoard", "ListBoards", "UpsertBoard")),
    _rules_kind("cap", defs_pb.DEFINITION_KIND_CAP, "cap", defs_pb.CapDefinition, "cap_id"),
    _rules_kind("boost", defs_pb.DEFINITION_KIND_BOOST, "boost", defs_pb.BoostDefinition,
                "boost_id"),
    _rules_kind("badge", defs_pb.DEFINITION_KIND_BADGE, "badge", defs_pb.BadgeDefinition,
                "badge_id"),
    _rules_kind("task", defs_pb.DEFINITION_KIND_TASK, "task", defs_pb.TaskDefinition, "task_id"),
    # A league plays on a board; a duel type scores events of any type.
    _admin_kind("league", leagues_pb.League, "league_id", lambda c: c.league_admin, leagues_pb,
                "league", calls=("GetLeagueDefinition", "ListLeagues", "UpsertLeague")),
    _admin_kind("duel_type", social_pb.DuelType, "type_id", lambda c: c.duel_admin, social_pb,
                "duel_type", calls=("GetDuelType", "ListDuelTypes", "UpsertDuelType")),
    # A team goal's team must exist already: teams are made with CreateTeam, not game files.
    _admin_kind("goal", goals_pb.Goal, "goal_id", lambda c: c.goal_admin, goals_pb, "goal",
                calls=("GetGoalDefinition", "ListGoalDefinitions", "UpsertGoal")),
)  # fmt: skip

BY_NAME = {kind.name: kind for kind in KINDS}
