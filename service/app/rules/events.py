"""Event handlers: an internal service reports what a user did; the rules decide the rest."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from service.app.ports import UnitOfWork
from service.app.rules.event_group import apply_group
from service.app.rules.outcomes import Rules
from service.app.rules.views import Tracked, TrackEvent
from service.domain.errors import InvalidArgument
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


_Waiting = tuple[Event, str, "asyncio.Future[Tracked]"]


def _unreachable(exc: BaseException) -> bool:
    return isinstance(exc, OSError)


class EventIntake:
    """Group commit of TrackEvent: concurrent calls share one transaction.

    A call that finds fewer than `groups_in_flight` groups running starts one; calls that
    arrive meanwhile wait and go together in the next group, up to `max_group` events. A
    lone call waits for nothing, and under load the round trips of a transaction are shared
    by many events.

    One event's failure, whatever it is, never fails the others of its group: a group that
    fails is split in halves and each half retried in order, down to the faulty events.
    A failure `unavailable` recognises (a store out of reach) fails the rest of the group at
    once; any other is split down to single events (at most 2n - 1 transactions for n).
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        rules: Rules,
        *,
        max_group: int = 128,
        groups_in_flight: int = 2,
        unavailable: Callable[[BaseException], bool] = _unreachable,
        on_group: Callable[[int, float], None] | None = None,
    ) -> None:
        """`on_group` hears the size and duration in seconds of every group transaction."""
        self._uow = uow
        self._on_group = on_group
        self._rules = rules
        self._max_group = max_group
        self._groups_in_flight = groups_in_flight
        self._unavailable = unavailable
        self._waiting: list[_Waiting] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def track(self, cmd: TrackEvent) -> Tracked:
        event = _validated(cmd, self._rules, self._rules.clock.now())
        future: asyncio.Future[Tracked] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, cmd.timezone, future))
        if self._running < self._groups_in_flight:
            self._running += 1
            # A task of its own: a caller cancelled mid-group must not abandon the others.
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                await self._settle(group)
        finally:
            self._running -= 1

    async def _settle(self, group: list[_Waiting]) -> None:
        """Apply the group; on a failure, bisect it so that only the faulty events fail."""
        parts = [group]  # a stack: the earliest events are on top
        while parts:
            # A caller that went away (a deadline, a cancellation) sends nothing.
            part = [waiting for waiting in parts.pop() if not waiting[2].done()]
            error = await self._attempt(part) if part else None
            if error is None:
                continue
            if self._unavailable(error):
                # The store is out of reach: every caller hears it now and may retry.
                for waiting in [w for p in (part, *parts) for w in p]:
                    _resolve(waiting[2], error)
                return
            if len(part) == 1:
                _resolve(part[0][2], error)
            else:
                log.info("splitting a failed group of %d events: %r", len(part), error)
                half = len(part) // 2
                parts += [part[half:], part[:half]]

    async def _attempt(self, part: list[_Waiting]) -> Exception | None:
        """Apply the part in one transaction and answer its callers; or the failure."""
        start = time.perf_counter()
        try:
            results = await apply_group(
                [event for event, _, _ in part], [timezone for _, timezone, _ in part],
                uow=self._uow(), rules=self._rules, now=self._rules.clock.now(),
                all_or_none=False,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - whatever failed, the caller decides
            return exc
        if self._on_group is not None:
            self._on_group(len(part), time.perf_counter() - start)
        for (_, _, future), result in zip(part, results, strict=True):
            _resolve(future, result)
        return None

    async def aclose(self) -> None:
        """Wait for the groups under way; calls after this are not served."""
        while self._tasks:
            await asyncio.gather(*self._tasks)


def _resolve(future: asyncio.Future[Tracked], result: Tracked | BaseException) -> None:
    if future.done():  # the caller went away
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
