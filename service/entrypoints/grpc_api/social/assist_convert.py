"""A task's assist rule between its proto and the rules engine."""

from __future__ import annotations

import datetime as dt

from service.domain.errors import InvalidArgument
from service.domain.rules.assists import MAX_ASSIST_WINDOW, AssistRule
from service.gen.engagement.v1 import definitions_pb2 as pb


def assists_from_pb(m: pb.TaskAssists) -> AssistRule:
    """Zero fields take the defaults; a window too long for a timedelta is refused as such."""
    default = AssistRule()
    seconds = m.window_seconds or int(default.window.total_seconds())
    if not 0 < seconds <= int(MAX_ASSIST_WINDOW.total_seconds()):
        raise InvalidArgument("assists.window_seconds", "must be between 60 and 366 days")
    return AssistRule(
        progress=m.progress or default.progress,
        per_friend_cap=m.per_friend_cap or default.per_friend_cap,
        per_task_cap=m.per_task_cap or default.per_task_cap,
        window=dt.timedelta(seconds=seconds),
    )


def assists_to_pb(rule: AssistRule | None) -> pb.TaskAssists | None:
    if rule is None:
        return None
    return pb.TaskAssists(
        progress=rule.progress, per_friend_cap=rule.per_friend_cap,
        per_task_cap=rule.per_task_cap, window_seconds=int(rule.window.total_seconds()),
    )  # fmt: skip
