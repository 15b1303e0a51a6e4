"""Event handlers: an internal service reports what a user did; the rules decide the rest."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from service.app.group_commit import GroupCommit, unreachable
from service.app.ports import UnitOfWork
from service.app.rules.event_group import apply_group
from service.app.rules.outcomes import Rules
from service.app.rules.views import Tracked, TrackEvent
from service.domain.errors import DomainError, InvalidArgument
from service.domain.rules.checks import check_event_type
from service.domain.rules.state import Event
from service.domain.validation import check_id, parse_timezone

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 256
MAX_VALUE = 2**53
# Control characters (NUL among them: Postgres refuses it in text) and lone surrogates.
_REFUSED = frozenset({"Cc", "Cs"})


def _attributes(attributes: Mapping[str, str] | None) -> dict[str, str]:
    found = dict(attributes or {})
    if len(found) > MAX_ATTRIBUTES:
        raise InvalidArgument("attributes", f"must hold at most {MAX_ATTRIBUTES} entries")
    for key, value in found.items():
        if not 0 < len(key) <= MAX_ATTRIBUTE_KEY or not key.isprintable():
            raise InvalidArgument(
                "attributes", f"keys must be 1 to {MAX_ATTRIBUTE_KEY} printable characters"
            )
        if len(value) > MAX_ATTRIBUTE_VALUE:
            raise InvalidArgument(
                f"attributes[{key}]", f"must be at most {MAX_ATTRIBUTE_VALUE} characters"
            )
        if any(unicodedata.category(char) in _REFUSED for char in value):
            raise InvalidArgument(
                f"attributes[{key}]", "must not contain NUL or other control characters"
            )
    return found


def validated(
    cmd: TrackEvent, now: dt.datetime, *, max_age: dt.timedelta, max_skew: dt.timedelta
) -> Event:
    """The event the command describes; InvalidArgument names the first bad field."""
    check_id("user_id", cmd.user_id)
    check_id("idempotency_key", cmd.idempotency_key)
    check_event_type("type", cmd.type)
    if not -MAX_VALUE <= cmd.value <= MAX_VALUE:
        raise InvalidArgument("value", "must be within +-2^53")
    if cmd.timezone:
        parse_timezone("timezone", cmd.timezone)
    occurred = cmd.occurred_at or now
    if occurred > now + max_skew:
        raise InvalidArgument("occurred_at", f"must not be more than {max_skew} ahead")
    if occurred < now - max_age:
        raise InvalidArgument("occurred_at", f"must not be more than {max_age} ago")
    return Event(
        cmd.idempotency_key, cmd.user_id, cmd.type, cmd.value, _attributes(cmd.attributes),
        occurred,
    )  # fmt: skip


def _validated(cmd: TrackEvent, rules: Rules, now: dt.datetime) -> Event:
    return validated(cmd, now, max_age=rules.max_event_age, max_skew=rules.max_event_skew)


async def track_event(cmd: TrackEvent, *, uow: UnitOfWork, rules: Rules) -> Tracked:
    """Apply one event once: a repeated idempotency key returns the stored effects."""
    return (await track_events([cmd], uow=uow, rules=rules))[0]


async def track_events(
    cmds: Sequence[TrackEvent], *, uow: UnitOfWork, rules: Rules
) -> list[Tracked]:
    """Apply a batch in order, in one transaction: all of it is stored, or none."""
    if not 1 <= len(cmds) <= MAX_BATCH:
        raise InvalidArgument("events", f"must hold 1 to {MAX_BATCH} events")
    now = rules.clock.now()
    events = []
    for index, cmd in enumerate(cmds):
        try:
            events.append(_validated(cmd, rules, now))
        except InvalidArgument as exc:
            if len(cmds) == 1:
                raise
            raise InvalidArgument(f"events[{index}].{exc.field}", exc.rule) from exc
    timezones = [cmd.timezone for cmd in cmds]
    results = await apply_group(events, timezones, uow=uow, rules=rules, now=now, all_or_none=True)
    return [r for r in results if isinstance(r, Tracked)]


class EventIntake:
    """Group commit of TrackEvent (see `GroupCommit`): concurrent calls share one
    transaction, and one event's fault fails only its own call."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        rules: Rules,
        *,
        max_group: int = 128,
        groups_in_flight: int = 2,
        unavailable: Callable[[BaseException], bool] = unreachable,
        on_group: Callable[[int, float], None] | None = None,
    ) -> None:
        """`on_group` hears the size and duration in seconds of every group transaction."""
        self._uow = uow
        self._rules = rules
        self._groups = GroupCommit(
            self._apply, max_group=max_group, groups_in_flight=groups_in_flight,
            unavailable=unavailable, on_group=on_group,
        )  # fmt: skip

    async def track(self, cmd: TrackEvent) -> Tracked:
        event = _validated(cmd, self._rules, self._rules.clock.now())
        return await self._groups.submit((event, cmd.timezone))

    async def _apply(self, part: Sequence[tuple[Event, str]]) -> list[Tracked | DomainError]:
        return await apply_group(
            [event for event, _ in part], [timezone for _, timezone in part],
            uow=self._uow(), rules=self._rules, now=self._rules.clock.now(), all_or_none=False,
        )  # fmt: skip

    async def aclose(self) -> None:
        """Wait for the groups under way; calls after this are not served."""
        await self._groups.aclose()
