"""The kinds of a game file, each with its message and the admin calls that read and write it.

A new kind (a league, a goal) is one more `Kind` in `KINDS`: the schema, loader, diff and apply
take it from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from engagement_client import EngagementClient
from engagement_client.gen.engagement.v1 import check_in_admin_pb2 as program_pb
from engagement_client.gen.engagement.v1 import definitions_pb2 as defs_pb
from engagement_client.gen.engagement.v1 import leaderboard_pb2 as board_pb
from engagement_client.gen.engagement.v1 import rules_admin_pb2 as admin_pb

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


async def _get_board(client: EngagementClient, board_id: str) -> Message | None:
    try:
        answer = await client.leaderboard_admin.GetBoard(
            board_pb.GetBoardRequest(board_id=board_id)
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return answer.board


async def _list_boards(client: EngagementClient) -> list[Message]:
    return list((await client.leaderboard_admin.ListBoards(board_pb.ListBoardsRequest())).boards)


async def _upsert_board(client: EngagementClient, spec: Message) -> Message:
    assert isinstance(spec, board_pb.Board)
    answer = await client.leaderboard_admin.UpsertBoard(board_pb.UpsertBoardRequest(board=spec))
    return answer.board


# In the order apply writes them: what a later kind names must exist first (a task's tier
# awards a badge; a badge may rank on a board).
KINDS: tuple[Kind, ...] = (
    Kind(
        "check_in_program", program_pb.CheckInProgram, "", _get_program, _list_programs,
        _upsert_program, output_only=("version", "created_at"),
    ),
    _rules_kind("levels", defs_pb.DEFINITION_KIND_LEVELS, "levels", defs_pb.LevelTable, ""),
    Kind("board", board_pb.Board, "board_id", _get_board, _list_boards, _upsert_board,
         output_only=("version", "created_at")),
    _rules_kind("cap", defs_pb.DEFINITION_KIND_CAP, "cap", defs_pb.CapDefinition, "cap_id"),
    _rules_kind("boost", defs_pb.DEFINITION_KIND_BOOST, "boost", defs_pb.BoostDefinition,
                "boost_id"),
    _rules_kind("badge", defs_pb.DEFINITION_KIND_BADGE, "badge", defs_pb.BadgeDefinition,
                "badge_id"),
    _rules_kind("task", defs_pb.DEFINITION_KIND_TASK, "task", defs_pb.TaskDefinition, "task_id"),
)  # fmt: skip

BY_NAME = {kind.name: kind for kind in KINDS}
