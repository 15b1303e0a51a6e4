"""Shared validation of definitions: ids, texts, rewards, weekdays and audiences."""

from __future__ import annotations

import datetime as dt
import enum
import re

from service.domain.errors import InvalidArgument
from service.domain.rewards import Reward
from service.domain.rules.windows import Cadence

MAX_TIERS = 20
MAX_REWARDS = 10
MAX_LIST = 32
MAX_TARGET = 2**53
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
_DEFINITION_ID = re.compile(r"[a-z0-9_-]{1,64}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.-]{1,64}")
_SEGMENT = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PERIODIC = (Cadence.DAILY, Cadence.WEEKLY, Cadence.MONTHLY)


class DefinitionKind(enum.StrEnum):
    TASK = "task"
    BADGE = "badge"
    LEVELS = "levels"
    BOOST = "boost"
    CAP = "cap"


def check_definition_id(field: str, value: str) -> None:
    if not _DEFINITION_ID.fullmatch(value):
        raise InvalidArgument(field, "must be 1 to 64 of a-z, 0-9, _ and -")


def check_event_type(field: str, value: str) -> None:
    if not _EVENT_TYPE.fullmatch(value):
        raise InvalidArgument(field, "must be 1 to 64 of a-z, 0-9, '.', '_' and '-'")


def check_texts(title: str, description: str) -> None:
    if not title.strip() or len(title) > MAX_TITLE:
        raise InvalidArgument("title", f"must be 1 to {MAX_TITLE} characters, not all blank")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidArgument("description", f"must be at most {MAX_DESCRIPTION} characters")


def check_ids(field: str, values: tuple[str, ...]) -> None:
    if len(values) > MAX_LIST:
        raise InvalidArgument(field, f"must hold at most {MAX_LIST} ids")
    for index, value in enumerate(values):
        check_definition_id(f"{field}[{index}]", value)


def check_rewards(field: str, rewards: tuple[Reward, ...]) -> None:
    if len(rewards) > MAX_REWARDS:
        raise InvalidArgument(field, f"must hold at most {MAX_REWARDS} rewards")
    for index, reward in enumerate(rewards):
        reward.validate(f"{field}[{index}]")


def check_week_start(week_start: int) -> None:
    if not 1 <= week_start <= 7:
        raise InvalidArgument("week_start", "must be an ISO weekday, 1 (Monday) to 7")


def check_weekdays(field: str, weekdays: tuple[int, ...]) -> None:
    if len(set(weekdays)) != len(weekdays) or not all(1 <= d <= 7 for d in weekdays):
        raise InvalidArgument(field, "must hold distinct ISO weekdays, 1 (Monday) to 7")


def check_dates(starts: dt.date | None, ends: dt.date | None, *, required: bool) -> None:
    if required and (starts is None or ends is None):
        missing = "starts_on" if starts is None else "ends_on"
        raise InvalidArgument(missing, "a date-range task needs starts_on and ends_on")
    if starts and ends and ends < starts:
        raise InvalidArgument("ends_on", "must not be before starts_on")


def check_segment(field: str, value: str) -> None:
    if not _SEGMENT.fullmatch(value):
        raise InvalidArgument(field, "must be 1 to 64 of A-Z, a-z, 0-9, '.', ':', '_' and '-'")


def check_audience(min_level: int, segments: tuple[str, ...]) -> None:
    if not 0 <= min_level <= 1000:
        raise InvalidArgument("min_level", "must be between 0 and 1000")
    if len(segments) > MAX_LIST:
        raise InvalidArgument("segments", f"must hold at most {MAX_LIST} segments")
    for index, segment in enumerate(segments):
        check_segment(f"segments[{index}]", segment)
