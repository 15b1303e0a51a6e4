"""Levels from XP: the level a total reaches and the way to the next one."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from service.domain.rules.definitions import Level, LevelTable


@dataclass(frozen=True, slots=True)
class LevelProgress:
    level: Level
    next_level: Level | None
    xp_to_next_level: int
    progress_percent: float


def level_for(xp: int, table: LevelTable) -> Level:
    levels = table.table()
    index = bisect.bisect_right([level.xp for level in levels], xp) - 1
    return levels[max(index, 0)]


def levels_between(old: int, new: int, table: LevelTable) -> tuple[Level, ...]:
    """The levels above `old` up to and including `new`, in order."""
    return tuple(level for level in table.table() if old < level.level <= new)


def progress(xp: int, table: LevelTable) -> LevelProgress:
    levels = table.table()
    current = level_for(xp, table)
    following = levels[current.level] if current.level < len(levels) else None
    if following is None:
        return LevelProgress(current, None, 0, 100.0)
    span = following.xp - current.xp
    percent = round(100.0 * (xp - current.xp) / span, 2)
    return LevelProgress(current, following, following.xp - xp, percent)
