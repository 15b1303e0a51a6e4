"""One user driven through the pure rules engine, whose state is kept as a caller keeps it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace

from service.domain.rules.definitions import CriterionKind
from service.domain.rules.engine import evaluate_event, evaluate_measure
from service.domain.rules.limits import Limits
from service.domain.rules.ruleset import Definition, RuleSet
from service.domain.rules.state import Event, Outcome, Profile, Shared, UserState
from service.domain.rules.task_progress import blocker

USER = "user-1"
NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


class Player:
    """Sends events (numbered e1, e2, ...) and keeps every applied outcome."""

    def __init__(
        self,
        definitions: Iterable[Definition],
        profile: Profile | None = None,
        shared: Shared | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.rules = RuleSet.of(definitions, limits)
        self.state = UserState(profile or Profile(USER))
        self.shared = shared or Shared()
        self.sent = 0

    def send(
        self,
        event_type: str = "purchase",
        value: int = 1,
        at: dt.datetime = NOW,
        *,
        recent: Mapping[str, int] | None = None,
        **attrs: str,
    ) -> Outcome:
        """Evaluate the next event; `recent` stands for the user's events of the last minute."""
        self.sent += 1
        event = Event(f"e{self.sent}", self.state.profile.user_id, event_type, value, attrs, at)
        state = replace(self.state, recent_events=recent) if recent is not None else self.state
        return self.store(evaluate_event(event, state, self.rules, self.shared, at))

    def amounts(self, event_type: str = "purchase", at: dt.datetime = NOW) -> list[int]:
        """The amounts the next event grants."""
        return [g.reward.amount for g in self.send(event_type, at=at).effects.grants]

    def measure(self, kind: CriterionKind, measure: int, cause: str, board_id: str = "") -> Outcome:
        outcome = evaluate_measure(
            self.state, self.rules, self.shared, NOW, kind=kind, measure=measure, cause=cause,
            board_id=board_id,
        )  # fmt: skip
        return self.store(outcome)

    def store(self, outcome: Outcome) -> Outcome:
        if not outcome.effects.rejected:
            self.state = self.state.after(outcome)
        return outcome

    def blocker(self, task_id: str, at: dt.datetime = NOW) -> str:
        return blocker(self.rules.tasks[task_id], self.state.profile, self.state.tasks, at)
