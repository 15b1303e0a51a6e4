"""Runs the `engagement` command line in a child process against a test server."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from tests.support import auth


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


async def engagement(*args: str, port: int, token: str | None = None, **env: str) -> Result:
    """`engagement ARGS` with ENGAGEMENT_ADDRESS, _TOKEN (an ops token) and _PLAINTEXT set."""
    child_env = {
        **os.environ,
        "ENGAGEMENT_ADDRESS": f"127.0.0.1:{port}",
        "ENGAGEMENT_TOKEN": auth.token() if token is None else token,
        "ENGAGEMENT_PLAINTEXT": "true",
        "ENGAGEMENT_TIMEOUT_SECONDS": "20",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        **env,
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", *args, env=child_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await child.communicate()
    assert child.returncode is not None
    return Result(child.returncode, out.decode(), err.decode())
