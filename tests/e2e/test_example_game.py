"""The example game `make run` applies: a superset of the demo game, equal where they meet, so
that applying it over the demo (as `make run` does) changes none of the demo's definitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_client import ClientOptions, EngagementClient
from service.bootstrap import App
from service.demo import DEMO_DEFINITIONS, DEMO_DUEL_TYPES, DEMO_PROGRAM
from service.demo_league import DEMO_LEAGUE, DEMO_LEAGUE_BOARD
from service.dev import EXAMPLE_GAME, load_demo
from service.entrypoints.grpc_api.boards.convert import board_from_pb
from service.entrypoints.grpc_api.convert import program_from_pb
from service.entrypoints.grpc_api.leagues.convert import league_from_pb
from service.entrypoints.grpc_api.rules.convert import valid_definition_from_pb
from service.entrypoints.grpc_api.server import RunningServer
from service.entrypoints.grpc_api.social.convert import duel_type_from_pb
from service.game.apply import apply_files
from service.game.kinds import wrap
from service.game.loader import load_game
from service.game.plan import Action
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import definitions_pb2 as defs_pb
from service.gen.engagement.v1 import leaderboard_pb2 as board_pb
from service.gen.engagement.v1 import leagues_pb2 as leagues_pb
from service.gen.engagement.v1 import social_pb2 as social_pb
from tests.support import auth

pytestmark = pytest.mark.e2e

KINDS = {"TaskDefinition": "task", "BadgeDefinition": "badge", "BoostDefinition": "boost",
         "CapDefinition": "cap", "LevelTable": "levels"}  # fmt: skip


def test_the_example_game_holds_the_demo_game() -> None:
    resources = {(r.kind.name, r.id): r for r in load_game([EXAMPLE_GAME])}
    program = resources["check_in_program", "default"].message.SerializeToString()
    assert program_from_pb(admin_pb.CheckInProgram.FromString(program)) == DEMO_PROGRAM
    for demo in DEMO_DEFINITIONS:
        kind = KINDS[type(demo).__name__]
        found = resources[kind, getattr(demo, f"{kind}_id", "default")]
        definition = defs_pb.Definition.FromString(wrap(kind, found.message).SerializeToString())
        assert valid_definition_from_pb(definition) == demo
    board = resources["board", DEMO_LEAGUE_BOARD.board_id].message.SerializeToString()
    assert board_from_pb(board_pb.Board.FromString(board)) == DEMO_LEAGUE_BOARD
    league = resources["league", DEMO_LEAGUE.league_id].message.SerializeToString()
    assert league_from_pb(leagues_pb.League.FromString(league)) == DEMO_LEAGUE
    for duel_type in DEMO_DUEL_TYPES:
        terms = resources["duel_type", duel_type.type_id].message.SerializeToString()
        assert duel_type_from_pb(social_pb.DuelType.FromString(terms)) == duel_type


async def test_applied_over_the_demo_it_changes_none_of_the_demo(
    app: App, server: RunningServer
) -> None:
    assert await load_demo(app)
    options = ClientOptions(address=f"127.0.0.1:{server.port}", token=auth.token(), plaintext=True)
    async with EngagementClient(options) as client:
        plan, applied = await apply_files(client, [Path(EXAMPLE_GAME)])
        again, none = await apply_files(client, [Path(EXAMPLE_GAME)])
    unchanged = {c.label for c in plan.changes if c.action == Action.UNCHANGED}
    assert unchanged == {"check_in_program default", "levels default", "task daily-order",
                         "task book-lover", "task invite-friends", "task play-together",
                         "badge big-spender",
                         "badge regular", "boost wednesday", "cap daily-points",
                         "cap order-velocity", "board league-orders", "league weekly",
                         "duel_type order-pk"}  # fmt: skip
    assert {a.new_version for a in applied} == {1}
    assert (again.pending, none) == ([], [])
    assert not await load_demo(app)
