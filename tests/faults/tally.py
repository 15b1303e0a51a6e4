"""Counting a case's calls against what Postgres stored: acknowledged, lost, duplicated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tests.faults.load import Attempt
from tests.faults.report import CaseRow


def count_calls(row: CaseRow, attempts: Iterable[Attempt]) -> None:
    """Add calls made and calls answered OK, writes and reads alike."""
    for attempt in attempts:
        row.attempted += 1
        row.acknowledged += attempt.ok


def count_writes(row: CaseRow, writes: Iterable[Attempt], stored: Counter[str]) -> list[str]:
    """Add acknowledged writes whose key `stored` lacks to lost, and rows beyond one per key
    to duplicated; returns the lost keys."""
    writes = list(writes)
    lost = sorted({w.key for w in writes if w.ok and stored[w.key] == 0})
    row.lost += len(lost)
    row.duplicated += sum(stored[key] - 1 for key in {w.key for w in writes} if stored[key] > 1)
    return lost


def count_effects(row: CaseRow, owed: Iterable[str], stored: Counter[str]) -> list[str]:
    """Add effects owed exactly once (a grant per check-in, say) that are missing or repeated."""
    missing = sorted(key for key in set(owed) if stored[key] == 0)
    row.lost += len(missing)
    row.duplicated += sum(stored[key] - 1 for key in set(owed) if stored[key] > 1)
    return missing
