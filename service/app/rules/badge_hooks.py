"""Badges on measures other features reach: streak lengths and final board ranks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from service.app.ports import UnitOfWork
from service.app.rules.outcomes import VELOCITY_SPAN, Rules, decide, store
from service.domain.rules.definitions import BadgeDefinition, CriterionKind
from service.domain.rules.engine import evaluate_measure
from service.domain.rules.ruleset import RuleSet


async def _award(
    uow: UnitOfWork, ruleset: RuleSet, user_id: str, measure: int, cause: str, now: dt.datetime,
    *, kind: CriterionKind, board_id: str = "",
) -> None:  # fmt: skip
    profile = await uow.rule_state.lock_profile(user_id, "")
    state = await uow.rule_state.load(profile, (), now - VELOCITY_SPAN)
    outcome = await decide(
        uow,
        ruleset,
        lambda shared: evaluate_measure(
            state,
            ruleset,
            shared,
            now,
            kind=kind,
            measure=measure,
            cause=cause,
            board_id=board_id,
        ),
    )
    if not outcome.effects.rejected:  # a cap can hold a badge's rewards back, as for events
        await store(uow, [(state, state.after(outcome))], (), outcome.effects.grants)


def _badges(ruleset: RuleSet, kind: CriterionKind, board_id: str = "") -> list[BadgeDefinition]:
    return [
        b
        for b in ruleset.badges_by_kind.get(kind, ())
        if not board_id or b.criterion.board_id == board_id
    ]


async def on_streak(
    uow: UnitOfWork, ruleset: RuleSet, user_id: str, streak: int, cause: str, now: dt.datetime
) -> None:
    """Inside the check-in's transaction: streak-length badges follow the new streak.

    The caller reads `ruleset` before its transaction: a catalog reload takes a connection of
    its own, which concurrent check-ins of the same user, holding the pool's connections
    while they wait for this one's streak lock, could leave it waiting for until all time out.
    """
    if _badges(ruleset, CriterionKind.STREAK_LENGTH):
        await _award(uow, ruleset, user_id, streak, cause, now, kind=CriterionKind.STREAK_LENGTH)


async def worst_rank_rewarded(rules: Rules, board_id: str) -> int:
    """The worst final rank any badge on the board rewards; 0 when none does."""
    ruleset = await rules.catalog.current()
    return max(
        (b.tiers[0].threshold for b in _badges(ruleset, CriterionKind.BOARD_RANK, board_id)),
        default=0,
    )


async def on_final_ranks(
    uow: UnitOfWork,
    rules: Rules,
    board_id: str,
    ranked: Sequence[tuple[int, str]],
    cause: str,
    now: dt.datetime,
) -> None:
    """Inside the finalisation's transaction: rank badges for the ranked members."""
    ruleset = await rules.catalog.current()
    # Profiles are locked in user order, as event batches lock them, so neither deadlocks.
    for rank, member_id in sorted(ranked, key=lambda pair: pair[1]):
        await _award(
            uow, ruleset, member_id, rank, cause, now, kind=CriterionKind.BOARD_RANK,
            board_id=board_id,
        )  # fmt: skip
