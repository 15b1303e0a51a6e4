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


async def test_a_milestone_answers_with_the_users_it_paid_now_up_to_the_limit(app: App) -> None:
    goal_id, milestone = GOAL.goal_id, GOAL.milestones[1]  # two rewards per contributor
    async with app.uow() as uow:
        await uow.goals.save_definition(GOAL)
        await uow.goals.credit(goal_id, {"ann": 60, "bo": 50, "cy": 70, "dee": 10}, GOAL.starts_at)
        first = await uow.goals.grant_qualified(GOAL, milestone, 2)
        again = await uow.goals.grant_qualified(GOAL, milestone, 10)
        await uow.commit()
    async with app.engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "select count(*) from grant_outbox where cause_ref = $1", (GOAL.cause_ref(milestone),)
        )
        queued = rows.scalar_one()

    # dee is below the minimum; the limit bounds the answer, not the grants.
    assert first == [("ann", 60), ("bo", 50)]
    assert again == []
    assert queued == 2 * 3
