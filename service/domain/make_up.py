"""Make-up check-ins: a ticket covers a missed day within the program's window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from service.domain.check_in import (
    CheckInOutcome,
    CheckInProgram,
    DayRecord,
    DayStatus,
    StreakState,
    check_in,
    local_day,
    make_up_tickets_left,
    milestone_grants,
)
from service.domain.errors import FailedPrecondition, InvalidArgument


def check_window(program: CheckInProgram, day: dt.date, now: dt.datetime, timezone: str) -> None:
    """Raise unless the program allows make-ups and `day` lies within its window."""
    window = program.make_up_window_days
    if window == 0:
        raise FailedPrecondition("the check-in program allows no make-up check-ins")
    if not 1 <= (local_day(now, timezone) - day).days <= window:
        raise InvalidArgument("day", f"must be one of the last {window} days before today")


def check_make_up(
    state: StreakState,
    program: CheckInProgram,
    day: dt.date,
    now: dt.datetime,
    timezone: str,
    covered: Mapping[dt.date, DayRecord],
) -> None:
    """Raise when `day` cannot be made up now; `covered` holds the user's recent records."""
    check_window(program, day, now, timezone)
    today = local_day(now, timezone)
    if day in covered:
        raise FailedPrecondition(f"{day} is already {covered[day].status}")
    if make_up_tickets_left(state, program, today) == 0:
        raise FailedPrecondition("no make-up tickets left this month")


def make_up(
    state: StreakState,
    program: CheckInProgram,
    day: dt.date,
    now: dt.datetime,
    timezone: str,
    covered: Mapping[dt.date, DayRecord],
) -> CheckInOutcome:
    """Cover `day` with a make-up ticket, re-joining the streak around it.

    `covered` must hold every record from the day before `day` up to the latest one.
    A day after the latest check-in is a late check-in with the cycle reward; a day
    inside the history re-joins the two streaks around it and grants milestones only.
    """
    check_make_up(state, program, day, now, timezone, covered)
    month = f"{local_day(now, timezone):%Y-%m}"
    used = state.make_ups_used if state.make_up_month == month else 0
    state = replace(state, make_up_month=month, make_ups_used=used + 1)
    if state.last_day is None or day > state.last_day:
        return check_in(state, program, day, now, state.timezone or timezone, DayStatus.MADE_UP)
    return _fill_gap(state, program, day, now, timezone, covered)


def _fill_gap(
    state: StreakState,
    program: CheckInProgram,
    day: dt.date,
    now: dt.datetime,
    timezone: str,
    covered: Mapping[dt.date, DayRecord],
) -> CheckInOutcome:
    assert state.last_day is not None
    before = covered.get(day - dt.timedelta(days=1))
    started_on = before.streak_started_on if before else day
    record = DayRecord(
        user_id=state.user_id,
        day=day,
        status=DayStatus.MADE_UP,
        at=now,
        timezone=timezone,
        cycle_day=0,
        streak=(before.streak if before else 0) + 1,
        streak_started_on=started_on,
        program_version=program.version,
    )
    run = [record]
    while (later := covered.get(run[-1].day + dt.timedelta(days=1))) is not None:
        run.append(
            replace(later, streak=run[-1].streak + later.counts, streak_started_on=started_on)
        )
    end = run[-1]
    state = replace(
        state, longest=max(state.longest, end.streak), first_day=min(day, state.first_day or day)
    )
    if end.day != state.last_day:
        return CheckInOutcome(state=state, record=record, grants=(), renumbered=tuple(run[1:]))
    # Milestones up to the earlier part's length were granted while that part was current.
    reached = max(state.milestone_reached, before.streak if before else 0)
    state = replace(
        state,
        current=end.streak,
        streak_started_on=started_on,
        milestone_reached=max(reached, end.streak),
    )
    grants = milestone_grants(end, program, reached)
    return CheckInOutcome(state=state, record=record, grants=grants, renumbered=tuple(run[1:]))
