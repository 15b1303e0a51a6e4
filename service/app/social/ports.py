"""Ports of the social features: duel types, duels and their scores, task assists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from service.domain.duels import Duel, DuelState, DuelType, ScoringSide
from service.domain.rules.assists import AssistRecord


class DuelRepository(Protocol):
    """Duel types and duels; a duel's two sides hold its players and scores."""

    async def get_type(self, type_id: str) -> DuelType | None: ...

    async def list_types(self) -> list[DuelType]:
        """Every type, in id order, archived ones included."""
        ...

    async def put_type(self, duel_type: DuelType, at: dt.datetime) -> DuelType:
        """Store the type as its next version; return it with that version."""
        ...

    async def hold_user(self, user_id: str) -> None:
        """Serialise, until the transaction ends, the duel changes that count the user's
        open duels."""
        ...

    async def find_request(self, challenger_id: str, request_key: str) -> Duel | None:
        """The duel the challenger created with that idempotency key."""
        ...

    async def open_count(self, user_id: str, type_id: str) -> int:
        """The user's open duels of the type: pending ones the user challenged, active ones."""
        ...

    async def add(self, duel: Duel, request_key: str) -> Duel:
        """Store a new duel and its two sides; return it with its id."""
        ...

    async def get(self, duel_id: int, *, lock: bool = False) -> Duel | None:
        """The duel, with `lock` locked until the transaction ends."""
        ...

    async def save(self, duels: Sequence[Duel]) -> None:
        """Store the duels' state, times and winner (their scores are the sides')."""
        ...

    async def of_user(
        self, user_id: str, states: Sequence[DuelState], before_id: int | None, limit: int
    ) -> list[Duel]:
        """The user's duels, newest first, of those states (all when empty)."""
        ...

    async def scoring_sides(
        self, user_ids: Sequence[str], event_types: Sequence[str]
    ) -> list[ScoringSide]:
        """The users' sides of active duels on any of the event types; each duel is held
        (share-locked) so that it is not settled before the transaction ends."""
        ...

    async def add_scores(self, steps: Mapping[tuple[int, str], int]) -> None:
        """Add to the scores of sides, by (duel id, user id)."""
        ...

    async def claim_due(self, state: DuelState, before: dt.datetime, limit: int) -> list[Duel]:
        """Lock duels in `state` whose deadline (respond_by for pending ones, ends_at for
        active ones) is at or before `before`, oldest first, skipping duels another transaction
        holds."""
        ...


class AssistRepository(Protocol):
    """Assists friends gave to users' tasks."""

    async def find(self, helper_id: str, idempotency_key: str) -> AssistRecord | None: ...

    async def hold_helper(self, helper_id: str) -> None:
        """Serialise the helper's assists until the transaction ends (their keys are the
        helper's)."""
        ...

    async def recent(
        self, user_id: str, task_id: str, window_id: str, helper_id: str, since: dt.datetime
    ) -> list[AssistRecord]:
        """The user's assists on the task in its window `window_id`, and the helper's on it
        at or after `since`, oldest first."""
        ...

    async def next_id(self) -> int:
        """An id for the next assist, known before it is stored: its grants' cause."""
        ...

    async def add(self, record: AssistRecord) -> None: ...
