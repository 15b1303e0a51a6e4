"""Duels: two players race on a metric over a window; the winner gains, nobody loses."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.errors import InvalidArgument
from service.domain.rewards import Grant, Reward
from service.domain.rules.checks import (
    MAX_LIST,
    check_definition_id,
    check_event_type,
    check_rewards,
    check_texts,
)
from service.domain.rules.definitions import Measure
from service.domain.rules.limits import saturated
from service.domain.rules.state import Event

MIN_WINDOW = dt.timedelta(minutes=1)
MAX_WINDOW = dt.timedelta(days=90)
MAX_RESPOND_WITHIN = dt.timedelta(days=30)
MAX_OPEN_LIMIT = 100
# Events are often sent a little after they occur: a duel is settled this long after its
# window ends, so the last minute's events still count. Later ones do not.
SETTLEMENT_GRACE = dt.timedelta(minutes=5)
CAUSE_KIND = "duel"


class DuelState(enum.StrEnum):
    PENDING = "pending"  # challenged, waiting for the answer
    ACTIVE = "active"  # accepted: scores count until ends_at
    DECLINED = "declined"
    EXPIRED = "expired"  # not answered in time
    SETTLED = "settled"  # rewards queued; winner_id is "" after a draw
    CANCELLED = "cancelled"  # a side's data was erased before settlement


OPEN_STATES = (DuelState.PENDING, DuelState.ACTIVE)


@dataclass(frozen=True, slots=True)
class DuelType:
    """A kind of duel game ops offer: what is measured, for how long, and what it pays.

    A draw (equal scores) pays both sides the participation rewards plus the draw rewards.
    """

    type_id: str
    title: str
    event_types: tuple[str, ...]
    measure: Measure
    window: dt.timedelta
    respond_within: dt.timedelta
    winner_rewards: tuple[Reward, ...] = ()
    participation_rewards: tuple[Reward, ...] = ()
    draw_rewards: tuple[Reward, ...] = ()
    # Open duels of this type per user: pending ones the user challenged, and active ones.
    max_open_per_user: int = 3
    description: str = ""
    archived: bool = False
    version: int = 0

    def validate(self) -> None:
        check_definition_id("type_id", self.type_id)
        check_texts(self.title, self.description)
        if not 1 <= len(self.event_types) <= MAX_LIST:
            raise InvalidArgument("event_types", f"must hold 1 to {MAX_LIST} event types")
        if len(set(self.event_types)) != len(self.event_types):
            raise InvalidArgument("event_types", "must not repeat an event type")
        for index, event_type in enumerate(self.event_types):
            check_event_type(f"event_types[{index}]", event_type)
        if self.measure not in (Measure.COUNT, Measure.SUM):
            raise InvalidArgument("measure", "must be count or sum")
        if not MIN_WINDOW <= self.window <= MAX_WINDOW:
            raise InvalidArgument("window", f"must be between {MIN_WINDOW} and {MAX_WINDOW}")
        if not MIN_WINDOW <= self.respond_within <= MAX_RESPOND_WITHIN:
            raise InvalidArgument(
                "respond_within", f"must be between {MIN_WINDOW} and {MAX_RESPOND_WITHIN}"
            )
        check_rewards("winner_rewards", self.winner_rewards)
        check_rewards("participation_rewards", self.participation_rewards)
        check_rewards("draw_rewards", self.draw_rewards)
        if not 1 <= self.max_open_per_user <= MAX_OPEN_LIMIT:
            raise InvalidArgument("max_open_per_user", f"must be between 1 and {MAX_OPEN_LIMIT}")


@dataclass(frozen=True, slots=True)
class Duel:
    """One challenge and, once accepted, its race. `terms` is the type as it was when the
    duel was created: changing the type later does not change running duels."""

    duel_id: int
    terms: DuelType
    challenger_id: str
    opponent_id: str
    state: DuelState
    created_at: dt.datetime
    respond_by: dt.datetime
    started_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    challenger_score: int = 0
    opponent_score: int = 0
    winner_id: str = ""
    settled_at: dt.datetime | None = None

    def side_of(self, user_id: str) -> str:
        """ "challenger", "opponent", or "" for someone else."""
        if user_id == self.challenger_id:
            return "challenger"
        return "opponent" if user_id == self.opponent_id else ""


def check_challenge(challenger_id: str, opponent_id: str) -> None:
    if challenger_id == opponent_id:
        raise InvalidArgument("opponent_id", "must not be the challenger: no duels with oneself")


@dataclass(frozen=True, slots=True)
class Outcome:
    winner_id: str  # "" for a draw
    grants: tuple[Grant, ...]


def outcome(duel: Duel) -> Outcome:
    """Who won, and every grant the end of the duel pays; keys derive from the duel."""
    terms = duel.terms
    scores = {duel.challenger_id: duel.challenger_score, duel.opponent_id: duel.opponent_score}
    best = max(scores.values())
    leaders = [user for user, score in scores.items() if score == best]
    winner = leaders[0] if len(leaders) == 1 else ""
    grants: list[Grant] = []
    for user in (duel.challenger_id, duel.opponent_id):
        paid: list[tuple[str, tuple[Reward, ...]]] = [
            ("participation", terms.participation_rewards)
        ]
        if not winner:
            paid.append(("draw", terms.draw_rewards))
        elif user == winner:
            paid.append(("winner", terms.winner_rewards))
        for part, rewards in paid:
            for index, reward in enumerate(rewards):
                grants.append(
                    Grant(
                        f"duel:{duel.duel_id}:{user}:{part}:{index}", user, reward,
                        f"{terms.title}: {part}", CAUSE_KIND, f"duel:{duel.duel_id}",
                        terms.version,
                    )
                )  # fmt: skip
    return Outcome(winner, tuple(grants))


@dataclass(frozen=True, slots=True)
class ScoringSide:
    """An active duel as scoring sees it, from one side."""

    duel_id: int
    user_id: str
    event_types: tuple[str, ...]
    measure: Measure
    started_at: dt.datetime
    ends_at: dt.datetime


def score_steps(
    sides: Iterable[ScoringSide], events: Sequence[Event]
) -> dict[tuple[int, str], int]:
    """What the events add to each side's score: those of the side's user, of the duel's
    types, that occurred inside its window. Sides the events do not move are left out."""
    by_user: dict[str, list[Event]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
    steps: dict[tuple[int, str], int] = {}
    for side in sides:
        total = 0
        for event in by_user.get(side.user_id, ()):
            if (
                event.type in side.event_types
                and side.started_at <= event.occurred_at < side.ends_at
            ):
                total = saturated(
                    total + (1 if side.measure is Measure.COUNT else max(event.value, 0))
                )
        if total:
            steps[side.duel_id, side.user_id] = total
    return steps
