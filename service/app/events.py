"""Event handlers: an internal service reports what a user did; the rules decide the rest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence

from service.app.board_ports import ScoreRow
from service.app.ports import UnitOfWork
from service.app.rule_views import Tracked, TrackEvent
from service.app.rules import VELOCITY_SPAN, Rules, decide, store
from service.app.rules_ports import EventStatus, StoredEvent
from service.app.scores import SubmitScore, publish, record_score, submission
from service.domain.boards import BoardDefinition
from service.domain.errors import DomainError, FailedPrecondition, InvalidArgument
from service.domain.rules.engine import evaluate_event
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.state import Event
from service.domain.validation import check_id, parse_timezone

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 256
MAX_VALUE = 2**53
_EVENT_TYPE = re.compile(r"[a-z0-9_.-]{1,64}")


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
    return found


def validated(
    cmd: TrackEvent, now: dt.datetime, *, max_age: dt.timedelta, max_skew: dt.timedelta
) -> Event:
    """The event the command describes; InvalidArgument names the first bad field."""
    check_id("user_id", cmd.user_id)
    check_id("idempotency_key", cmd.idempotency_key)
    if not _EVENT_TYPE.fullmatch(cmd.type):
        raise InvalidArgument("type", "must be 1 to 64 of a-z, 0-9, '.', '_' and '-'")
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


def _same(stored: Event, event: Event) -> None:
    """A reused idempotency key must name the same event, or it is a caller's bug."""
    if stored.user_id != event.user_id:
        raise FailedPrecondition(
            f"idempotency_key {event.idempotency_key!r} was used for another user's event"
        )
    if dataclasses.replace(stored, occurred_at=event.occurred_at) != event:
        raise FailedPrecondition(
            f"idempotency_key {event.idempotency_key!r} was used for a different event"
        )


async def track_event(cmd: TrackEvent, *, uow: UnitOfWork, rules: Rules) -> Tracked:
    """Apply one event once: a repeated idempotency key returns the stored effects."""
    now = rules.clock.now()
    event = _validated(cmd, rules, now)
    ruleset = await rules.catalog.current()
    boards = await _boards_fed_by(event.type, rules)
    async with uow:
        tracked, scores = await _apply(
            uow, event, cmd.timezone, ruleset=ruleset, boards=boards, rules=rules, now=now
        )
        await uow.commit()
    await _publish(scores, rules, uow)
    return tracked


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
            raise InvalidArgument(f"events[{index}].{exc.field}", exc.rule) from exc
    ruleset = await rules.catalog.current()
    results: dict[int, Tracked] = {}
    published: list[Published] = []
    # Users are locked in id order so that concurrent batches cannot deadlock; each user's
    # events keep their order.
    order = sorted(range(len(events)), key=lambda i: events[i].user_id)
    async with uow:
        for index in order:
            event = events[index]
            boards = await _boards_fed_by(event.type, rules)
            tracked, scores = await _apply(
                uow, event, cmds[index].timezone, ruleset=ruleset, boards=boards, rules=rules,
                now=now,
            )  # fmt: skip
            results[index] = tracked
            published.extend(scores)
        await uow.commit()
    await _publish(published, rules, uow)
    return [results[i] for i in range(len(events))]


Published = tuple[BoardDefinition, list[ScoreRow]]


async def _boards_fed_by(event_type: str, rules: Rules) -> list[BoardDefinition]:
    return [b for b in await rules.boards.catalog.all() if event_type in b.source_event_types]


async def _apply(
    uow: UnitOfWork,
    event: Event,
    timezone: str,
    *,
    ruleset: RuleSet,
    boards: list[BoardDefinition],
    rules: Rules,
    now: dt.datetime,
) -> tuple[Tracked, list[Published]]:
    """Decide and store one event inside the caller's transaction."""
    profile = await uow.rule_state.lock_profile(event.user_id, timezone)
    stored = await uow.events.get(event.idempotency_key)
    if stored is not None:
        _same(stored.event, event)
        return Tracked(stored.effects, stored.status, duplicate=True), []
    state = await uow.rule_state.load(profile, ruleset.velocity_types, now - VELOCITY_SPAN)
    outcome = await decide(
        uow, ruleset, lambda shared: evaluate_event(event, state, ruleset, shared, now)
    )
    effects, status, scores = outcome.effects, EventStatus.REJECTED, []
    if not effects.rejected:
        status = EventStatus.APPLIED
        await store(uow, state, outcome, effects.completions)
        scores = await _record_scores(uow, event, boards, now)
        effects = dataclasses.replace(
            effects, board_submissions=tuple(b.board_id for b, _ in scores)
        )
    if not await uow.events.add(StoredEvent(event, now, status, effects)):
        raise FailedPrecondition(
            f"idempotency_key {event.idempotency_key!r} was used for another user's event"
        )
    return Tracked(effects, status, duplicate=False), scores


async def _record_scores(
    uow: UnitOfWork, event: Event, boards: list[BoardDefinition], now: dt.datetime
) -> list[Published]:
    """Submit the event's value to every board fed by its type; a board whose period is
    closed or final, or whose partition attribute is missing, is skipped."""
    recorded = []
    for board in boards:
        partition = (
            event.attributes.get(board.partition_attribute, "") if board.partition_attribute else ""
        )
        cmd = SubmitScore(
            board.board_id, event.user_id, event.value, f"event:{event.idempotency_key}",
            partition, event.occurred_at,
        )  # fmt: skip
        try:
            rows, _ = await record_score(uow, submission(cmd, board, now))
        except DomainError as exc:
            log.info(
                "event %s not scored on board %s: %s", event.idempotency_key, board.board_id, exc
            )
            continue
        recorded.append((board, rows))
    return recorded


async def _publish(published: list[Published], rules: Rules, uow: UnitOfWork) -> None:
    for board, rows in published:
        if rows:
            await publish(board, rows, rules.boards, uow)
