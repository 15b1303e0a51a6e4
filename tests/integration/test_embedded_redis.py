"""The embedded redis-server of `make run`: what it keeps across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from service.embedded import start_redis

pytestmark = pytest.mark.integration


def _write_then_restart(data_dir: Path, *, persistent: bool) -> float | None:
    with (
        start_redis(data_dir, persistent=persistent) as server,
        redis.Redis.from_url(server.url) as client,
    ):
        client.zadd("board", {"alice": 18_000})
    with (
        start_redis(data_dir, persistent=persistent) as server,
        redis.Redis.from_url(server.url) as client,
    ):
        score: float | None = client.zscore("board", "alice")
    return score


def test_a_persistent_server_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    assert _write_then_restart(tmp_path, persistent=True) == 18_000


def test_a_test_server_keeps_nothing(tmp_path: Path) -> None:
    assert _write_then_restart(tmp_path, persistent=False) is None
