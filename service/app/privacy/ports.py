"""Ports of the privacy handlers: everything stored about one user, read or erased."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.app.boards.ports import BoardKey

# One stored row, by column name.
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class UserData:
    """Every row that names the user, by table name (tables without rows are left out)."""

    user_id: str
    tables: Mapping[str, Sequence[Row]]

    def rows(self, table: str) -> Sequence[Row]:
        return self.tables.get(table, ())


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a user changed in Postgres, and the Redis boards still to clear."""

    pseudonym: str
    # Rows deleted, by table.
    deleted: Mapping[str, int]
    # Undelivered (pending or dead) grants now cancelled.
    grants_cancelled: int
    # Delivered grants kept, under the pseudonym: the loyalty system owns what they gave.
    grants_kept: int
    # Audit entries whose actor or target now reads as the pseudonym.
    audit_entries_pseudonymised: int
    # Board-periods whose Redis copy may still hold the user; each has a queued repair.
    board_keys: tuple[BoardKey, ...]

    @property
    def changed(self) -> bool:
        return bool(
            any(self.deleted.values())
            or self.grants_cancelled
            or self.grants_kept
            or self.audit_entries_pseudonymised
        )


class PrivacyRepository(Protocol):
    """The user's rows across every table."""

    async def export(self, user_id: str) -> UserData: ...

    async def erase(self, user_id: str, pseudonym: str, cancel_note: str) -> Erasure:
        """Delete the user's rows, cancel the undelivered grants with `cancel_note` and put
        the pseudonym in place of the user id wherever a row stays; queue a Redis repair for
        every board-period the user was on."""
        ...

    async def forget_repairs(self, member_id: str) -> None:
        """Drop the queued Redis repairs of a member whose board copies are gone."""
        ...
