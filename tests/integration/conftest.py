"""Fixtures of the leaderboard library's tests: boards under a key prefix of a test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from leaderboard import Leaderboards
from tests.support.leaderboard_keys import keys_under


@pytest.fixture
def prefix() -> str:
    return f"lbtest-{uuid.uuid4().hex}"


@pytest.fixture
async def boards(redis_client: redis.Redis, prefix: str) -> AsyncIterator[Leaderboards]:
    """Boards under `prefix`, whose keys are deleted afterwards."""
    yield Leaderboards(redis_client, key_prefix=prefix)
    stale = await keys_under(redis_client, prefix)
    if stale:
        await redis_client.delete(*stale)
