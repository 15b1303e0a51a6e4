"""Friends' assists: a friend's help moves a user's task through the rules engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from service.app.ports import UnitOfWork
from service.app.rules.outcomes import VELOCITY_SPAN, Rules, decide, store
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from service.domain.rewards import Grant
from service.domain.rules.assists import AssistRecord, AssistRule, check_assist
from service.domain.rules.definitions import TaskDefinition
from service.domain.rules.engine import evaluate_assist
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.task_progress import blocker, task_window
from service.domain.validation import check_id


@dataclass(frozen=True, slots=True)
class AssistTask:
    helper_id: str
    user_id: str
    task_id: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Assisted:
    record: AssistRecord
    # What tiers the assist completed granted; none for a retry.
    grants: tuple[Grant, ...]
    duplicate: bool


def _checked(cmd: AssistTask) -> None:
    check_id("helper_id", cmd.helper_id)
    check_id("user_id", cmd.user_id)
    check_id("task_id", cmd.task_id)
    check_id("idempotency_key", cmd.idempotency_key)
    if cmd.helper_id == cmd.user_id:
        raise InvalidArgument("helper_id", "must not be user_id: nobody assists themselves")


async def assist_task(cmd: AssistTask, *, uow: UnitOfWork, rules: Rules) -> Assisted:
    """Add the task's assist progress for the user, in one transaction with the completions
    and grants it causes; a repeated idempotency key of the helper answers the first assist."""
    _checked(cmd)
    ruleset = await rules.catalog.current()
    now = rules.clock.now()
    async with uow:
        # The helper first, then the user's profile (which the user's events lock too):
        # every assist takes them in this order.
        await uow.assists.hold_helper(cmd.helper_id)
        known = await uow.assists.find(cmd.helper_id, cmd.idempotency_key)
        if known is not None:
            if (known.user_id, known.task_id) != (cmd.user_id, cmd.task_id):
                raise FailedPrecondition(
                    f"idempotency_key {cmd.idempotency_key!r} was used for another assist"
                )
            return Assisted(known, (), duplicate=True)
        task = ruleset.tasks.get(cmd.task_id)
        if task is None:
            raise NotFound("task", cmd.task_id)
        done = await _assist(cmd, task, uow, ruleset, now)
        await uow.commit()
    return done


async def _assist(
    cmd: AssistTask, task: TaskDefinition, uow: UnitOfWork, ruleset: RuleSet, now: dt.datetime
) -> Assisted:
    """Within the limits, move the task and store the assist; inside the caller's transaction."""
    rule = _rule_of(task)
    profile = await uow.rule_state.lock_profile(cmd.user_id, "")
    state = await uow.rule_state.load(profile, (), now - VELOCITY_SPAN)
    if why := blocker(task, profile, state.tasks, now):
        raise FailedPrecondition(f"task {task.task_id} cannot move for this user: {why}")
    window = task_window(task, now, profile.timezone).window_id
    earlier = await uow.assists.recent(
        cmd.user_id, task.task_id, window, cmd.helper_id, now - rule.window
    )
    check_assist(rule, cmd.helper_id, window, earlier, now)
    assist_id = await uow.assists.next_id()
    outcome = await decide(
        uow, ruleset, lambda shared: evaluate_assist(
            task, rule.progress, state=state, rules=ruleset, shared=shared, now=now,
            cause=f"assist:{assist_id}",
        ),
    )  # fmt: skip
    if outcome.effects.rejected:
        raise ResourceExhausted(outcome.effects.rejected)
    effects = outcome.effects
    await store(uow, [(state, state.after(outcome))], effects.completions, effects.grants)
    change = effects.task_changes[0]
    record = AssistRecord(
        assist_id, cmd.user_id, cmd.helper_id, task.task_id, task.version, change.window_id,
        rule.progress, cmd.idempotency_key, now, change.progress, change.target,
        change.tiers_reached,
    )  # fmt: skip
    await uow.assists.add(record)
    return Assisted(record, effects.grants, duplicate=False)


def _rule_of(task: TaskDefinition) -> AssistRule:
    if task.assists is None:
        raise FailedPrecondition(f"task {task.task_id} takes no assists")
    return task.assists
