"""Check-in handlers: check in, make up a day, read the streak and the calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from service.app.check_ins.programs import Programs
from service.app.goals.contributions import GoalNews, current_goals, feed_check_in
from service.app.live.publish import publish_check_in
from service.app.ports import Clock, StoredStreak, UnitOfWork
from service.app.rules.badge_hooks import on_streak
from service.app.rules.outcomes import Rules
from service.domain import check_in as streaks
from service.domain.check_in import (
    CheckInOutcome,
    CheckInProgram,
    DayRecord,
    StreakView,
)
from service.domain.check_in_calendar import CalendarDay, month_days, month_of
from service.domain.errors import InvalidArgument
from service.domain.goals import GoalSet
from service.domain.make_up import check_window, make_up
from service.domain.rewards import Grant, Reward
from service.domain.rules.ruleset import RuleSet
from service.domain.validation import check_id, parse_day, parse_month, parse_timezone

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True, slots=True)
class CheckIn:
    user_id: str
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class MakeUpCheckIn:
    user_id: str
    day: str
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class GetStreak:
    user_id: str
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class GetCalendar:
    user_id: str
    month: str = ""
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class CheckInResult:
    record: DayRecord
    already_checked_in: bool
    streak: StreakView
    grants: tuple[Grant, ...] = ()
    frozen_days: tuple[dt.date, ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarResult:
    month: dt.date
    days: tuple[CalendarDay, ...]
    streak: StreakView
    today_rewards: tuple[Reward, ...]


def _validated_timezone(requested: str) -> str:
    if requested:
        parse_timezone("timezone", requested)
    return requested


def _stored_timezone(stored: StoredStreak) -> str:
    """The user's one stored timezone (set by any call that passes one), else the one of the
    user's last check-in, else ""."""
    return stored.profile_timezone or stored.state.timezone


def _writing_timezone(requested: str, stored: str) -> str:
    """The timezone a check-in is computed in: the requested one, else the stored one."""
    timezone = requested or stored
    if not timezone:
        raise InvalidArgument("timezone", "is required until the user has a stored timezone")
    return timezone


def _showing(view: StreakView, timezone: str) -> StreakView:
    return replace(view, timezone=timezone)


async def _store(
    uow: UnitOfWork,
    outcome: CheckInOutcome,
    ruleset: RuleSet | None,
    now: dt.datetime,
    goals: GoalSet | None = None,
) -> GoalNews:
    """Write everything an accepted check-in changed, grants and streak badges included,
    and commit; the goal changes to publish."""
    await uow.check_ins.save(outcome)
    if ruleset is not None:
        record = outcome.record
        cause = f"check_in:{record.user_id}:{record.day}"
        await on_streak(uow, ruleset, record.user_id, outcome.state.current, cause, now)
    news: GoalNews = {}
    if goals is not None:  # check-ins, not make-ups, count for goals; goal rows go last
        news = await feed_check_in(uow, goals, outcome.record.user_id, now)
    await uow.commit()
    return news


def _accepted(
    outcome: CheckInOutcome, program: CheckInProgram, now: dt.datetime, timezone: str
) -> CheckInResult:
    return CheckInResult(
        outcome.record,
        already_checked_in=False,
        streak=streaks.view_streak(outcome.state, program, now, timezone),
        grants=outcome.grants,
        frozen_days=tuple(record.day for record in outcome.frozen),
    )


async def check_in(
    cmd: CheckIn,
    *,
    uow: UnitOfWork,
    programs: Programs,
    clock: Clock,
    rules: Rules | None = None,
) -> CheckInResult:
    """Check the user in for their local today, at most once per day.

    With `rules`, streak-length badges move in the same transaction.
    """
    check_id("user_id", cmd.user_id)
    _validated_timezone(cmd.timezone)
    now = clock.now()
    # Before the transaction: a reload takes a connection of its own.
    ruleset = await rules.catalog.current() if rules is not None else None
    goals = await current_goals(rules.goals if rules is not None else None)
    program = await programs.current()
    async with uow:
        locked = await uow.check_ins.lock_streak(cmd.user_id)
        state, stored = locked.state, _stored_timezone(locked)
        timezone = _writing_timezone(cmd.timezone, stored)
        day = streaks.day_to_check_in(state, now, timezone)
        if day is None:
            # A repeat: the day stays where it was checked in, and so does the timezone.
            assert state.last_day is not None
            existing = await uow.check_ins.get_day(cmd.user_id, state.last_day)
            assert existing is not None
            view = _showing(streaks.view_streak(state, program, now, timezone), stored)
            return CheckInResult(existing, already_checked_in=True, streak=view)
        outcome = streaks.check_in(state, program, day, now, timezone)
        if cmd.timezone:
            # The user's one timezone, also for tasks, badges and boosts from now on.
            await uow.rule_state.lock_profile(cmd.user_id, cmd.timezone)
        news = await _store(uow, outcome, ruleset, now, goals)
    if rules is not None:
        await publish_check_in(rules.boards.feed, outcome, now, news)
    return _accepted(outcome, program, now, timezone)


async def make_up_check_in(
    cmd: MakeUpCheckIn,
    *,
    uow: UnitOfWork,
    programs: Programs,
    clock: Clock,
    rules: Rules | None = None,
) -> CheckInResult:
    """Spend a make-up ticket on a missed day within the program's window."""
    check_id("user_id", cmd.user_id)
    _validated_timezone(cmd.timezone)
    day = parse_day("day", cmd.day)
    now = clock.now()
    ruleset = await rules.catalog.current() if rules is not None else None
    program = await programs.current()
    async with uow:
        locked = await uow.check_ins.lock_streak(cmd.user_id)
        state, stored = locked.state, _stored_timezone(locked)
        timezone = _writing_timezone(cmd.timezone, stored)
        check_window(program, day, now, timezone)  # before reading days around an absurd date
        last = max(day, state.last_day or day)
        recent = await uow.check_ins.days_between(cmd.user_id, day - dt.timedelta(days=1), last)
        outcome = make_up(state, program, day, now, timezone, streaks.covered_days(recent))
        news = await _store(uow, outcome, ruleset, now)
    if rules is not None:
        await publish_check_in(rules.boards.feed, outcome, now, news)
    accepted = _accepted(outcome, program, now, timezone)
    # A make-up never stores its timezone: the user's stays as it was.
    return replace(accepted, streak=_showing(accepted.streak, stored or timezone))


async def get_streak(
    query: GetStreak, *, uow: UnitOfWork, programs: Programs, clock: Clock
) -> StreakView:
    """The user's streak as of now."""
    check_id("user_id", query.user_id)
    _validated_timezone(query.timezone)
    program = await programs.current()
    async with uow:
        found = await uow.check_ins.get_streak(query.user_id)
    state, stored = found.state, _stored_timezone(found)
    timezone = query.timezone or stored or DEFAULT_TIMEZONE
    return _showing(streaks.view_streak(state, program, clock.now(), timezone), stored)


async def get_calendar(
    query: GetCalendar, *, uow: UnitOfWork, programs: Programs, clock: Clock
) -> CalendarResult:
    """One month of the user's calendar with today's reward preview."""
    check_id("user_id", query.user_id)
    _validated_timezone(query.timezone)
    now = clock.now()
    program = await programs.current()
    async with uow:
        found = await uow.check_ins.get_streak(query.user_id)
        state, stored = found.state, _stored_timezone(found)
        timezone = query.timezone or stored or DEFAULT_TIMEZONE
        today = streaks.local_day(now, timezone)
        first = parse_month("month", query.month) if query.month else today.replace(day=1)
        last = month_of(first)[-1]
        records = await uow.check_ins.days_between(query.user_id, first, last)
    return CalendarResult(
        month=first,
        days=month_days(state, records, first, today),
        streak=_showing(streaks.view_streak(state, program, now, timezone), stored),
        today_rewards=streaks.preview_rewards(state, program, now, timezone),
    )
