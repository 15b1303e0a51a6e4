"""A Node.js caller on @grpc/grpc-js and the project's protos, against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from service.entrypoints.grpc_api.server import RunningServer
from service.gen.engagement.v1 import leaderboard_pb2 as pb
from service.gen.engagement.v1 import leaderboard_pb2_grpc as pb_grpc
from tests.support import auth

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "support" / "node" / "client.js"
# Installed from the npm registry on first use, beside the buf that `make buf-lint` installs.
MODULES = ROOT / ".tools" / "node-client"
PACKAGES = ("@grpc/grpc-js@^1.12", "@grpc/proto-loader@^0.7")


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    npm = shutil.which("npm")
    if found is None or npm is None:
        pytest.skip("node and npm are not installed: the Node.js client test needs them")
    if not (MODULES / "node_modules" / "@grpc" / "grpc-js").is_dir():
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(MODULES),
             *PACKAGES],
            check=True, timeout=300,
        )  # fmt: skip
    return found


async def test_a_node_client_checks_in_and_reads_a_board(
    node: str, server: RunningServer, channel: grpc.aio.Channel
) -> None:
    board = pb.Board(
        board_id="node", title="Node", sort_order=pb.SORT_ORDER_HIGHER_IS_BETTER,
        aggregation=pb.AGGREGATION_SUM, tie_policy=pb.TIE_POLICY_COMPETITION,
        period=pb.Period(kind=pb.PERIOD_KIND_ALL_TIME), timezone="UTC",
    )  # fmt: skip
    await pb_grpc.LeaderboardAdminServiceStub(channel).UpsertBoard(
        pb.UpsertBoardRequest(board=board)
    )
    scores = pb_grpc.LeaderboardServiceStub(channel)
    for member, value in (("ann", 30), ("bob", 50)):
        await scores.SubmitScore(
            pb.SubmitScoreRequest(
                board_id="node", member_id=member, value=value, idempotency_key=member
            )
        )

    # Not subprocess.run: the server answers from this test's event loop.
    process = await asyncio.create_subprocess_exec(
        node, str(CLIENT), f"127.0.0.1:{server.port}", auth.token(), "nora", "node",
        str(ROOT / "protos"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"NODE_PATH": str(MODULES / "node_modules"), "PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 0, err.decode()
    answer = json.loads(out)
    assert answer["checkIn"]["streak"]["current"] == 1
    assert answer["checkIn"]["check_in"]["user_id"] == "nora"
    entries = answer["page"]["entries"]
    assert [(e["member_id"], e["score"], e["rank"]) for e in entries] == [
        ("bob", "50", "1"), ("ann", "30", "2"),  # int64 fields arrive as strings
    ]  # fmt: skip
    assert answer["refused"]["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert answer["refused"]["details"].startswith("user_id")
