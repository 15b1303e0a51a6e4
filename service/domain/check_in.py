"""Check-in program rules: one check-in per local day, streaks, freezes, make-ups, rewards."""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward

MAX_CYCLE_DAYS = 366
MAX_MILESTONE_DAYS = 100_000
MAX_SETTING = 1_000


class DayStatus(enum.StrEnum):
    CHECKED_IN = "checked_in"
    MADE_UP = "made_up"
    FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class Milestone:
    days: int
    rewards: tuple[Reward, ...]


@dataclass(frozen=True, slots=True)
class CheckInProgram:
    """One version of the check-in program that game ops configure."""

    version: int
    cycle: tuple[tuple[Reward, ...], ...] = ((),)
    cycle_restarts_on_break: bool = True
    milestones: tuple[Milestone, ...] = ()
    starting_freezes: int = 0
    freeze_earned_every_days: int = 0
    max_freezes: int = 0
    make_up_window_days: int = 0
    make_up_tickets_per_month: int = 0
    created_at: dt.datetime | None = None

    def validate(self) -> None:
        """Raise InvalidArgument naming the first field that breaks a rule."""
        if not 1 <= len(self.cycle) <= MAX_CYCLE_DAYS:
            raise InvalidArgument("program.cycle", f"must have 1 to {MAX_CYCLE_DAYS} days")
        for day, rewards in enumerate(self.cycle):
            for i, reward in enumerate(rewards):
                reward.validate(f"program.cycle[{day}].rewards[{i}]")
        seen: set[int] = set()
        for i, milestone in enumerate(self.milestones):
            if not 1 <= milestone.days <= MAX_MILESTONE_DAYS or milestone.days in seen:
                raise InvalidArgument(
                    f"program.milestones[{i}].days",
                    f"must be unique and between 1 and {MAX_MILESTONE_DAYS}",
                )
            seen.add(milestone.days)
            for j, reward in enumerate(milestone.rewards):
                reward.validate(f"program.milestones[{i}].rewards[{j}]")
        for name in (
            "starting_freezes",
            "freeze_earned_every_days",
            "max_freezes",
            "make_up_window_days",
            "make_up_tickets_per_month",
        ):
            if not 0 <= getattr(self, name) <= MAX_SETTING:
                raise InvalidArgument(f"program.{name}", f"must be between 0 and {MAX_SETTING}")
        if self.starting_freezes > self.max_freezes:
            raise InvalidArgument("program.starting_freezes", "must not exceed max_freezes")


DEFAULT_PROGRAM = CheckInProgram(version=0)


@dataclass(frozen=True, slots=True)
class DayRecord:
    """A covered day of one user: checked in, made up, or bridged by a freeze."""

    user_id: str
    day: dt.date
    status: DayStatus
    at: dt.datetime
    timezone: str
    cycle_day: int
    streak: int
    streak_started_on: dt.date
    program_version: int

    @property
    def counts(self) -> bool:
        """Whether the day adds to the streak length (a frozen day only bridges it)."""
        return self.status is not DayStatus.FROZEN


@dataclass(frozen=True, slots=True)
class StreakState:
    """What the service remembers about one user's streak between check-ins."""

    user_id: str
    timezone: str = ""
    current: int = 0
    longest: int = 0
    freezes: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    streak_started_on: dt.date | None = None
    cycle_day: int = 0
    milestone_reached: int = 0
    make_up_month: str = ""
    make_ups_used: int = 0


@dataclass(frozen=True, slots=True)
class StreakView:
    """A streak as the user sees it at one instant."""

    current: int
    longest: int
    freezes: int
    make_up_tickets: int
    last_day: dt.date | None
    checked_in_today: bool
    timezone: str


@dataclass(frozen=True, slots=True)
class CheckInOutcome:
    """Everything one accepted check-in or make-up changes."""

    state: StreakState
    record: DayRecord
    grants: tuple[Grant, ...]
    frozen: tuple[DayRecord, ...] = ()
    renumbered: tuple[DayRecord, ...] = field(default=())


def local_day(now: dt.datetime, timezone: str) -> dt.date:
    """The calendar day in `timezone` at the aware instant `now`."""
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def day_to_check_in(state: StreakState, now: dt.datetime, timezone: str) -> dt.date | None:
    """The local day a check-in at `now` is for, or None when the user is already checked in.

    Moving west never reopens a day already checked in, and moving east cannot start a
    new day before the previous check-in's day has ended where it was made.
    """
    today = local_day(now, timezone)
    if state.last_day is None:
        return today
    if today <= state.last_day or local_day(now, state.timezone) <= state.last_day:
        return None
    return today


def _missed_days(state: StreakState, day: dt.date, now: dt.datetime) -> int:
    """Days without a check-in between the last check-in and `day`.

    Counting in both the new and the previous timezone and taking the smaller gap means
    a change of timezone alone never costs a day.
    """
    assert state.last_day is not None
    nearest = min(day, max(local_day(now, state.timezone), state.last_day))
    return max(0, (nearest - state.last_day).days - 1)


def make_up_tickets_left(state: StreakState, program: CheckInProgram, today: dt.date) -> int:
    """Make-up tickets the user may still spend in the local month of `today`."""
    used = state.make_ups_used if state.make_up_month == _month(today) else 0
    return max(0, program.make_up_tickets_per_month - used)


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def view_streak(
    state: StreakState, program: CheckInProgram, now: dt.datetime, timezone: str
) -> StreakView:
    """The streak at `now`: a streak already broken by missed days shows as 0."""
    today = local_day(now, timezone)
    current = state.current
    if state.last_day is not None and _missed_days(state, today, now) > state.freezes:
        current = 0
    return StreakView(
        current=current,
        longest=state.longest,
        freezes=state.freezes,
        make_up_tickets=make_up_tickets_left(state, program, today),
        last_day=state.last_day,
        # The same rule CheckIn applies, so the two never disagree after a move east.
        checked_in_today=day_to_check_in(state, now, timezone) is None,
        timezone=state.timezone,
    )


def check_in(
    state: StreakState,
    program: CheckInProgram,
    day: dt.date,
    now: dt.datetime,
    timezone: str,
    status: DayStatus = DayStatus.CHECKED_IN,
) -> CheckInOutcome:
    """Check the user in for `day`, the latest day so far; freezes cover missed days."""
    state, continues, frozen_days = _bridge(state, program, day, now)
    current = state.current + 1 if continues else 1
    started_on = state.streak_started_on if continues and state.streak_started_on else day
    cycle_day = _next_cycle_day(state, program, continues)
    freezes = _with_earned_freeze(program, state.freezes - len(frozen_days), current)
    record = DayRecord(
        user_id=state.user_id,
        day=day,
        status=status,
        at=now,
        timezone=timezone,
        cycle_day=cycle_day,
        streak=current,
        streak_started_on=started_on,
        program_version=program.version,
    )
    frozen = tuple(
        replace(record, day=d, status=DayStatus.FROZEN, cycle_day=0, streak=state.current)
        for d in frozen_days
    )
    reached = state.milestone_reached if continues else 0
    grants = _cycle_grants(record, program) + milestone_grants(record, program, reached)
    new_state = replace(
        state,
        timezone=timezone,
        current=current,
        longest=max(state.longest, current),
        freezes=freezes,
        last_day=day,
        streak_started_on=started_on,
        cycle_day=cycle_day,
        milestone_reached=max(reached, current),
    )
    return CheckInOutcome(state=new_state, record=record, grants=grants, frozen=frozen)


def _bridge(
    state: StreakState, program: CheckInProgram, day: dt.date, now: dt.datetime
) -> tuple[StreakState, bool, tuple[dt.date, ...]]:
    """Whether the streak continues to `day`, and the missed days freezes must cover."""
    if state.last_day is None:
        return replace(state, freezes=program.starting_freezes, first_day=day), False, ()
    missed = _missed_days(state, day, now)
    if missed > state.freezes:
        return state, False, ()
    return state, True, tuple(state.last_day + dt.timedelta(days=i + 1) for i in range(missed))


def _with_earned_freeze(program: CheckInProgram, freezes: int, current: int) -> int:
    every = program.freeze_earned_every_days
    if every and current % every == 0:
        # A lowered maximum never takes away freezes already held.
        return max(freezes, min(program.max_freezes, freezes + 1))
    return freezes


def _next_cycle_day(state: StreakState, program: CheckInProgram, continues: bool) -> int:
    restart = not continues and program.cycle_restarts_on_break
    if restart or state.cycle_day >= len(program.cycle):
        return 1
    return state.cycle_day + 1


def _cycle_grants(record: DayRecord, program: CheckInProgram) -> tuple[Grant, ...]:
    rewards = program.cycle[record.cycle_day - 1]
    length = len(program.cycle)
    return tuple(
        Grant(
            idempotency_key=f"check_in:{record.user_id}:{record.day}:cycle:{i}",
            user_id=record.user_id,
            reward=reward,
            reason=f"check-in day {record.cycle_day} of {length}",
            cause_kind="check_in",
            cause_ref=f"check_in:{record.user_id}:{record.day}",
            definition_version=program.version,
            expires_at=reward.expires_at(record.at),
        )
        for i, reward in enumerate(rewards)
    )


def milestone_grants(record: DayRecord, program: CheckInProgram, reached: int) -> tuple[Grant, ...]:
    """Grants for milestones above `reached` up to the record's streak, once per streak.

    The key names the streak by its first day, so a streak re-joined by a make-up can
    never earn a milestone twice.
    """
    return tuple(
        Grant(
            idempotency_key=(
                f"check_in:{record.user_id}:streak:{record.streak_started_on}"
                f":milestone:{milestone.days}:{i}"
            ),
            user_id=record.user_id,
            reward=reward,
            reason=f"{milestone.days}-day check-in streak",
            cause_kind="check_in_milestone",
            cause_ref=f"check_in:{record.user_id}:{record.day}",
            definition_version=program.version,
            expires_at=reward.expires_at(record.at),
        )
        for milestone in sorted(program.milestones, key=lambda m: m.days)
        if reached < milestone.days <= record.streak
        for i, reward in enumerate(milestone.rewards)
    )


def preview_rewards(
    state: StreakState, program: CheckInProgram, now: dt.datetime, timezone: str
) -> tuple[Reward, ...]:
    """What checking in at `now` would grant; nothing once the day is checked in."""
    day = day_to_check_in(state, now, timezone)
    if day is None:
        return ()
    return tuple(g.reward for g in check_in(state, program, day, now, timezone).grants)


def covered_days(records: Iterable[DayRecord]) -> Mapping[dt.date, DayRecord]:
    """Index records by their day."""
    return {record.day: record for record in records}
