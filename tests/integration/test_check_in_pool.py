"""Concurrent check-ins of one user never wait for a connection while holding its streak lock."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.app.check_ins import handlers
from service.bootstrap import build_app
from service.settings import Settings
from tests.support.clock import MovableClock

pytestmark = pytest.mark.integration


async def test_check_ins_of_one_user_on_a_full_pool_with_a_cold_rules_catalog(
    settings: Settings, engine: AsyncEngine, clock: MovableClock
) -> None:
    # Two connections, both taken by check-ins of the same user: the one holding the streak
    # lock must not need a third (a rules catalog reload) to finish.
    small = settings.model_copy(update={"db_pool_size": 2, "db_timeout_seconds": 2.0})
    app = build_app(small, clock=clock)
    try:
        app.rules.catalog.invalidate()
        calls = [
            handlers.check_in(
                handlers.CheckIn("ana", "UTC"),
                uow=app.uow(),
                programs=app.programs,
                clock=app.clock,
                rules=app.rules,
            )
            for _ in range(6)
        ]
        results = await asyncio.gather(*calls)
    finally:
        await app.close()

    assert sorted(r.already_checked_in for r in results) == [False] + [True] * 5
