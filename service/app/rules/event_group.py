"""One transaction for a group of events: set-based reads and writes, rules in between."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence

from service.app.boards.ports import BoardKey, ScoreRow, Submission
from service.app.boards.score_writes import key_of, key_order, record_all
from service.app.boards.scores import EVENT_KEY_PREFIX, SubmitScore, publish_all, submission
from service.app.goals.contributions import current_goals, feed_events
from service.app.leagues.cohorts import Cohorts, assign
from service.app.live.publish import publish_tracked
from service.app.ports import UnitOfWork
from service.app.rules.outcomes import VELOCITY_SPAN, Rules, decide, store
from service.app.rules.ports import EventStatus, StoredEvent
from service.app.rules.views import Tracked
from service.app.social.duel_settlement import record_scores
from service.domain.boards import BoardDefinition
from service.domain.errors import DomainError, FailedPrecondition
from service.domain.leagues import LeagueDefinition
from service.domain.rewards import Grant
from service.domain.rules.engine import evaluate_event
from service.domain.rules.ruleset import RuleSet
from service.domain.rules.state import Event, Shared, TaskCompletion, UserState

log = logging.getLogger(__name__)

Published = tuple[BoardDefinition, list[ScoreRow]]


async def apply_group(
    events: Sequence[Event],
    timezones: Sequence[str],
    *,
    uow: UnitOfWork,
    rules: Rules,
    now: dt.datetime,
    all_or_none: bool,
) -> list[Tracked | DomainError]:
    """Apply the events in order in one transaction, each once.

    An event that cannot be applied (its key was used for a different event) gets its error
    in place of a result; with `all_or_none` the first such error is raised instead and
    nothing is stored. Scores reach Redis after the commit.
    """
    ruleset = await rules.catalog.current()
    boards = await rules.boards.catalog.all()
    goals = await current_goals(rules.goals)
    async with uow:
        group = _Group(uow, ruleset, boards, now, goals.event_types)
        group.leagues = await rules.leagues.by_board() if rules.leagues else {}
        results = await group.apply(events, timezones)
        errors = [r for r in results if isinstance(r, DomainError)]
        if all_or_none and errors:
            raise errors[0]
        if not group.recorded:  # every event was stored before or refused: nothing to write
            return results
        await group.write()
        # Goal rows last, after every lock the group took (see service.app.goals.contributions).
        goal_news = await feed_events(uow, goals, group.applied, now)
        await uow.commit()
    # The events are committed now: their callers get their results whatever happens to
    # the Redis copies (a copy that cannot even be queued for repair is logged there).
    await publish_all(_newest(group.scores), rules.boards, uow)
    await publish_tracked(rules.boards.feed, events, results, now, goal_news)
    return results


def _newest(scores: list[Published]) -> list[tuple[BoardDefinition, ScoreRow]]:
    """Each member's newest aggregate per board-period: older ones would be ignored anyway."""
    newest: dict[tuple[BoardKey, str], tuple[BoardDefinition, ScoreRow]] = {}
    for board, rows in scores:
        for row in rows:
            seen = newest.get((row.key, row.member_id))
            if seen is None or seen[1].revision < row.revision:
                newest[row.key, row.member_id] = (board, row)
    return list(newest.values())


class _Group:
    """The state of one group's transaction: users' rule state, and what to write."""

    def __init__(
        self,
        uow: UnitOfWork,
        ruleset: RuleSet,
        boards: list[BoardDefinition],
        now: dt.datetime,
        goal_types: frozenset[str] = frozenset(),
    ) -> None:
        self.uow, self.ruleset, self.boards, self.now = uow, ruleset, boards, now
        self.before: dict[str, UserState] = {}
        self.states: dict[str, UserState] = {}
        self.stored: dict[str, StoredEvent] = {}
        self.recorded: dict[str, StoredEvent] = {}
        self.completions: list[TaskCompletion] = []
        self.grants: list[Grant] = []
        self.shared = Shared()
        self.planned: dict[str, list[Submission]] = {}
        # Per event: the boards it feeds but will not score, and why.
        self.unscored: dict[str, list[str]] = {}
        self.board_types = {t for board in boards for t in board.source_event_types}
        self.goal_types = goal_types
        self.applied: list[Event] = []
        self.excluded: set[str] = set()
        self.final: set[BoardKey] = set()
        self.submissions: list[Submission] = []
        self.scores: list[Published] = []
        # Leagues by their board's id; a league board's partition is the member's cohort.
        self.leagues: dict[str, LeagueDefinition] = {}
        self.cohorts = Cohorts()

    async def apply(
        self, events: Sequence[Event], timezones: Sequence[str]
    ) -> list[Tracked | DomainError]:
        # Board periods first, then profiles, then shared limits: finalisation takes a
        # period's lock before profiles, and every transaction keeps that order.
        await self._lock_periods(events)
        users = {e.user_id: "" for e in events}  # "": timezones change as events apply
        profiles = await self.uow.rule_state.lock_profiles(users)
        # After the profiles' locks, which an exclusion takes too: an exclusion committed
        # meanwhile is seen here.
        scoring = {sub.member_id for subs in self.planned.values() for sub in subs}
        self.excluded = await self.uow.exclusions.excluded(scoring) if scoring else set()
        self.stored = await self.uow.events.get_many(sorted({e.idempotency_key for e in events}))
        since = self.now - VELOCITY_SPAN
        self.before = await self.uow.rule_state.load_many(
            list(profiles.values()), self.ruleset.velocity_types, since
        )
        self.states = dict(self.before)
        supply, budgets = self.ruleset.limits_for({e.type for e in events})
        if supply or budgets:
            self.shared = await self.uow.rule_state.lock_shared(supply, budgets)
        return [await self._apply(e, tz) for e, tz in zip(events, timezones, strict=True)]

    async def _lock_periods(self, events: Sequence[Event]) -> None:
        """Plan the events' board submissions and lock their periods, in one order."""
        if self.leagues:  # cohorts' forming locks come before the periods' locks
            self.cohorts = await assign(self.uow, self.leagues, self.boards, events, self.now)
        for event in events:
            self.planned[event.idempotency_key] = self._plan(event)
        keys = {key_of(sub) for subs in self.planned.values() for sub in subs}
        for key in sorted(keys, key=key_order):
            if await self.uow.scores.lock_period(key, exclusive=False):
                self.final.add(key)

    async def _apply(self, event: Event, timezone: str) -> Tracked | DomainError:
        key = event.idempotency_key
        known = self.recorded.get(key) or self.stored.get(key)
        if known is not None:
            try:
                _same(known.event, event)
            except FailedPrecondition as exc:
                return exc
            return Tracked(known.effects, known.status, duplicate=True)
        state, ruleset, now = self.states[event.user_id], self.ruleset, self.now
        if timezone:
            state = dataclasses.replace(state, profile=state.profile.with_timezone(timezone))
        outcome = await decide(
            self.uow, ruleset, lambda shared: evaluate_event(event, state, ruleset, shared, now),
            self.shared,
        )  # fmt: skip
        effects, status = outcome.effects, EventStatus.REJECTED
        if not effects.rejected:
            status, state = EventStatus.APPLIED, state.after(outcome)
            self.shared = self.shared.taking(outcome.supply, outcome.budgets)
            self.completions += effects.completions
            self.grants += effects.grants
            self.applied.append(event)
            scored = self._score(event)
            effects = dataclasses.replace(
                effects, board_submissions=scored, notices=self._notices(event)
            )
        self.states[event.user_id] = state.seen(event.type)
        self.recorded[key] = StoredEvent(event, now, status, effects)
        return Tracked(effects, status, duplicate=False)

    def _plan(self, event: Event) -> list[Submission]:
        """The event's value for every board fed by its type; a board whose period is
        closed, or whose partition attribute is missing, is left out (and noted)."""
        planned: list[Submission] = []
        unscored = self.unscored[event.idempotency_key] = []
        for board in self.boards:
            if event.type not in board.source_event_types:
                continue
            partition = self._partition(board, event)
            if partition is None:
                continue
            key = EVENT_KEY_PREFIX + event.idempotency_key
            cmd = SubmitScore(
                board.board_id, event.user_id, event.value, key, partition, event.occurred_at
            )
            try:
                planned.append(submission(cmd, board, self.now))
            except DomainError as exc:
                log.info("event %s not scored on %s: %s", key, board.board_id, exc)
                unscored.append(f"not scored on board {board.board_id}: {exc}")
        return planned

    def _partition(self, board: BoardDefinition, event: Event) -> str | None:
        """The event's partition of the board: a league's cohort, or the attribute's value;
        None (and noted) when it has none."""
        if board.board_id in self.leagues:
            cohort = self.cohorts.partition(board.board_id, event.idempotency_key)
            if cohort is None:
                why = self.cohorts.why_not(board.board_id, event.idempotency_key)
                self.unscored[event.idempotency_key].append(
                    f"not scored on board {board.board_id}: {why}"
                )
            return cohort
        attribute = board.partition_attribute
        if attribute and attribute not in event.attributes:
            self.unscored[event.idempotency_key].append(
                f"not scored on board {board.board_id}: attribute {attribute} missing"
            )
            return None
        return event.attributes.get(attribute, "") if attribute else ""

    def _score(self, event: Event) -> tuple[str, ...]:
        """Take the applied event's planned submissions whose periods are not final."""
        subs = []
        for sub in self.planned[event.idempotency_key]:
            why = (
                f"period {sub.period_id} is final" if key_of(sub) in self.final
                else f"member {sub.member_id} is excluded from boards"
                if sub.member_id in self.excluded else ""
            )  # fmt: skip
            if why:
                self.unscored[event.idempotency_key].append(
                    f"not scored on board {sub.board.board_id}: {why}"
                )
            else:
                subs.append(sub)
        self.submissions += subs
        return tuple(sub.board.board_id for sub in subs)

    def _notices(self, event: Event) -> tuple[str, ...]:
        """What the applied event did not do that its sender may not expect."""
        used = event.type in self.board_types or event.type in self.goal_types
        if not self.ruleset.uses(event.type) and not used:
            return (f"no rule or board uses event type {event.type}",)
        return tuple(self.unscored[event.idempotency_key])

    async def _record_scores(self) -> None:
        """Record the scores (see `record_all`)."""
        _, changed = await record_all(self.uow, self.submissions)
        self.scores += [
            (sub.board, rows) for sub, rows in zip(self.submissions, changed, strict=True)
        ]

    async def write(self) -> None:
        """Everything the group changed: a few statements whatever its size, plus one per
        score on a board."""
        await self._record_scores()
        changes = [(self.before[user_id], state) for user_id, state in self.states.items()]
        await store(self.uow, changes, self.completions, self.grants)
        records = list(self.recorded.values())
        await record_scores(self.uow, [r.event for r in records if r.status is EventStatus.APPLIED])
        stored = await self.uow.events.add_many(records)
        for record in records:
            if record.event.idempotency_key not in stored:  # taken meanwhile, by another user
                _taken_by_another_user(record.event)


def _same(stored: Event, event: Event) -> None:
    """A reused idempotency key must name the same event, or it is a caller's bug."""
    if stored.user_id != event.user_id:
        _taken_by_another_user(event)
    # A retry without occurred_at gets the instant it arrived, so that field may differ.
    if dataclasses.replace(stored, occurred_at=event.occurred_at) != event:
        raise FailedPrecondition(
            f"idempotency_key {event.idempotency_key!r} was used for a different event"
        )


def _taken_by_another_user(event: Event) -> None:
    raise FailedPrecondition(
        f"idempotency_key {event.idempotency_key!r} was used for another user's event"
    )
