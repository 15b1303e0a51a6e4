"""Translations between generated protobuf messages and domain values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from service.domain.check_in import CheckInProgram, DayRecord, Milestone, StreakView
from service.domain.check_in_calendar import CalendarStatus
from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward, RewardKind
from service.entrypoints.grpc_api.enums import EnumTable
from service.gen.engagement.v1 import check_in_admin_pb2 as admin_pb
from service.gen.engagement.v1 import check_in_pb2 as pb
from service.gen.engagement.v1 import rewards_pb2 as rewards_pb
from service.protobuf_time import instant, timestamp

_KINDS = EnumTable(
    {
        RewardKind.POINTS: rewards_pb.REWARD_KIND_POINTS,
        RewardKind.COUPON: rewards_pb.REWARD_KIND_COUPON,
        RewardKind.ITEM: rewards_pb.REWARD_KIND_ITEM,
        RewardKind.XP: rewards_pb.REWARD_KIND_XP,
    }
)
_DAY_STATUS = EnumTable(
    {
        CalendarStatus.CHECKED_IN: pb.DAY_STATUS_CHECKED_IN,
        CalendarStatus.MADE_UP: pb.DAY_STATUS_MADE_UP,
        CalendarStatus.FROZEN: pb.DAY_STATUS_FROZEN,
        CalendarStatus.MISSED: pb.DAY_STATUS_MISSED,
        CalendarStatus.OPEN: pb.DAY_STATUS_OPEN,
        CalendarStatus.NONE: pb.DAY_STATUS_NONE,
    }
)


def instant_from_pb(message: Any, name: str, field: str) -> dt.datetime | None:
    """The Timestamp field `name` of `message` as an aware UTC instant; None when unset;
    InvalidArgument naming `field` when out of range."""
    try:
        return instant(message, name)
    except ValueError as exc:
        raise InvalidArgument(field, "must be a valid timestamp (years 1 to 9999)") from exc


def instant_to_pb(value: dt.datetime | None) -> Timestamp | None:
    return timestamp(value) if value else None


def reward_kind_to_pb(kind: RewardKind) -> rewards_pb.RewardKind.ValueType:
    return _KINDS.to_pb(kind)


def reward_to_pb(reward: Reward) -> rewards_pb.Reward:
    return rewards_pb.Reward(
        kind=_KINDS.to_pb(reward.kind),
        amount=reward.amount,
        item_code=reward.item_code,
        valid_days=reward.valid_days,
    )


def reward_from_pb(message: rewards_pb.Reward, field: str) -> Reward:
    kind = _KINDS.from_pb(message.kind, f"{field}.kind")
    return Reward(kind, message.amount, message.item_code, message.valid_days)


def rewards_from_pb(messages: Iterable[rewards_pb.Reward], field: str) -> tuple[Reward, ...]:
    return tuple(reward_from_pb(r, f"{field}.rewards[{i}]") for i, r in enumerate(messages))


def grant_to_pb(grant: Grant) -> rewards_pb.Grant:
    return rewards_pb.Grant(
        idempotency_key=grant.idempotency_key,
        user_id=grant.user_id,
        reward=reward_to_pb(grant.reward),
        reason=grant.reason,
        cause_ref=grant.cause_ref,
        cause_kind=grant.cause_kind,
        definition_version=grant.definition_version,
        expires_at=instant_to_pb(grant.expires_at),
    )


def day_record_to_pb(record: DayRecord) -> pb.CheckIn:
    return pb.CheckIn(
        user_id=record.user_id,
        day=record.day.isoformat(),
        status=_DAY_STATUS.to_pb(CalendarStatus(record.status)),
        checked_in_at=timestamp(record.at),
        timezone=record.timezone,
        cycle_day=record.cycle_day,
        streak=record.streak,
    )


def day_status_to_pb(status: CalendarStatus) -> pb.DayStatus.ValueType:
    return _DAY_STATUS.to_pb(status)


def streak_to_pb(user_id: str, view: StreakView) -> pb.Streak:
    return pb.Streak(
        user_id=user_id,
        current=view.current,
        longest=view.longest,
        freezes=view.freezes,
        make_up_tickets=view.make_up_tickets,
        last_day=view.last_day.isoformat() if view.last_day else "",
        checked_in_today=view.checked_in_today,
        timezone=view.timezone,
    )


def program_from_pb(message: admin_pb.CheckInProgram) -> CheckInProgram:
    return CheckInProgram(
        version=0,
        cycle=tuple(
            tuple(
                reward_from_pb(r, f"program.cycle[{d}].rewards[{i}]")
                for i, r in enumerate(day.rewards)
            )
            for d, day in enumerate(message.cycle)
        ),
        cycle_restarts_on_break=message.cycle_restarts_on_break,
        milestones=tuple(
            Milestone(
                m.days,
                tuple(
                    reward_from_pb(r, f"program.milestones[{j}].rewards[{i}]")
                    for i, r in enumerate(m.rewards)
                ),
            )
            for j, m in enumerate(message.milestones)
        ),
        starting_freezes=message.starting_freezes,
        freeze_earned_every_days=message.freeze_earned_every_days,
        max_freezes=message.max_freezes,
        make_up_window_days=message.make_up_window_days,
        make_up_tickets_per_month=message.make_up_tickets_per_month,
    )


def program_to_pb(program: CheckInProgram) -> admin_pb.CheckInProgram:
    return admin_pb.CheckInProgram(
        version=program.version,
        cycle=[admin_pb.CycleDay(rewards=[reward_to_pb(r) for r in day]) for day in program.cycle],
        cycle_restarts_on_break=program.cycle_restarts_on_break,
        milestones=[
            admin_pb.Milestone(days=m.days, rewards=[reward_to_pb(r) for r in m.rewards])
            for m in program.milestones
        ],
        starting_freezes=program.starting_freezes,
        freeze_earned_every_days=program.freeze_earned_every_days,
        max_freezes=program.max_freezes,
        make_up_window_days=program.make_up_window_days,
        make_up_tickets_per_month=program.make_up_tickets_per_month,
        created_at=timestamp(program.created_at) if program.created_at else None,
    )
