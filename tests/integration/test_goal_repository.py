"""Goal rows in Postgres: definitions read back equal, contributions add up per user."""

from __future__ import annotations

import pytest

from service.bootstrap import App
from tests.unit.test_goals import GOAL

pytestmark = pytest.mark.integration


async def test_a_definition_reads_back_equal_and_credits_add_up(app: App) -> None:
    async with app.uow() as uow:
        await uow.goals.save_definition(GOAL)
        first = await uow.goals.credit(GOAL.goal_id, {"bo": 30, "ann": 20}, GOAL.starts_at)
        second = await uow.goals.credit(GOAL.goal_id, {"ann": 40}, GOAL.starts_at)
        total = await uow.goals.add_to_total(GOAL.goal_id, 90, 2)
        await uow.commit()
    async with app.reader() as reader:
        stored = await reader.goals.lock_definition(GOAL.goal_id)
        standing = await reader.goals.standing(GOAL.goal_id, "ann")

    assert stored == GOAL
    assert [(c.user_id, c.before, c.after) for c in (*first, *second)] == [
        ("ann", 0, 20), ("bo", 0, 30), ("ann", 20, 60),
    ]  # fmt: skip
    assert total == (0, 90)
    assert standing is not None
    assert (standing.total, standing.contributors, standing.mine, standing.member) == (
        90, 2, 60, True,
    )  # fmt: skip
