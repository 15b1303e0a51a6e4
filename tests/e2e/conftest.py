"""A real grpc.aio server on port 0 and a channel to it that sends an ops+service token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from service.bootstrap import App
from service.entrypoints.grpc_api.server import RunningServer, start_server
from tests.support import auth


@pytest.fixture
async def server(app: App) -> AsyncIterator[RunningServer]:
    running = await start_server(app, "127.0.0.1:0")
    yield running
    await running.stop(0)


@pytest.fixture
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with auth.channel(server.port) as channel:
        yield channel
