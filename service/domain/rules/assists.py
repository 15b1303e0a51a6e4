"""Friends' assists on a task: who may help whose task, how often, and by how much."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.errors import InvalidArgument, ResourceExhausted
from service.domain.rules.checks import MAX_TARGET

MAX_ASSISTS = 1000
MIN_ASSIST_WINDOW = dt.timedelta(minutes=1)
MAX_ASSIST_WINDOW = dt.timedelta(days=366)


@dataclass(frozen=True, slots=True)
class AssistRule:
    """How a task takes assists. The caps count assists within the task's current window
    (the whole task for one done once); `window` spaces one friend's assists on it."""

    # Progress each assist adds (a count task's step is 1 per event; an assist can be worth
    # more).
    progress: int = 1
    # Assists one friend may give one user's task.
    per_friend_cap: int = 1
    # Assists one user's task may receive from all friends.
    per_task_cap: int = 5
    # The same friend helps the same user's task at most once within this span.
    window: dt.timedelta = dt.timedelta(days=1)

    def validate(self, field: str) -> None:
        if not 0 < self.progress <= MAX_TARGET:
            raise InvalidArgument(f"{field}.progress", "must be positive, at most 2^53")
        if not 0 < self.per_task_cap <= MAX_ASSISTS:
            raise InvalidArgument(f"{field}.per_task_cap", f"must be between 1 and {MAX_ASSISTS}")
        if not 0 < self.per_friend_cap <= self.per_task_cap:
            raise InvalidArgument(f"{field}.per_friend_cap", "must be between 1 and per_task_cap")
        if not MIN_ASSIST_WINDOW <= self.window <= MAX_ASSIST_WINDOW:
            raise InvalidArgument(
                f"{field}.window_seconds", f"must be between 60 and {MAX_ASSIST_WINDOW.days} days"
            )


@dataclass(frozen=True, slots=True)
class AssistRecord:
    """One assist as stored: who helped whose task, in which of its windows, and what the
    task looked like after it."""

    assist_id: int
    user_id: str
    helper_id: str
    task_id: str
    task_version: int
    window_id: str
    progress: int
    idempotency_key: str
    assisted_at: dt.datetime
    progress_after: int = 0
    target: int = 0
    tiers_reached: int = 0


def check_assist(
    rule: AssistRule,
    helper_id: str,
    window_id: str,
    earlier: Sequence[AssistRecord],
    now: dt.datetime,
) -> None:
    """Raise ResourceExhausted when the task's or the friend's cap is reached, or the friend
    helped within the rule's window; `earlier` holds the task's assists of the user."""
    current = [a for a in earlier if a.window_id == window_id]
    if len(current) >= rule.per_task_cap:
        raise ResourceExhausted(f"the task took its {rule.per_task_cap} assists in this window")
    mine = [a for a in earlier if a.helper_id == helper_id]
    if sum(1 for a in mine if a.window_id == window_id) >= rule.per_friend_cap:
        raise ResourceExhausted(
            f"helper_id: helped this task {rule.per_friend_cap} times in this window already"
        )
    last = max((a.assisted_at for a in mine), default=None)
    if last is not None and now - last < rule.window:
        raise ResourceExhausted(f"helper_id: may help this task again from {last + rule.window}")
