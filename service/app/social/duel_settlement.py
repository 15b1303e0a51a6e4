"""Duels over time: scores from applied events, expiry of unanswered challenges, settlement."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import replace

from service.app.live.ports import NO_FEED, Feed
from service.app.live.publish import publish_duels
from service.app.ports import UnitOfWork
from service.domain.duels import SETTLEMENT_GRACE, Duel, DuelState, outcome, score_steps
from service.domain.rules.state import Event

log = logging.getLogger(__name__)

# Duels settled or expired per transaction: a pass takes batches until none is due.
BATCH = 100


async def record_scores(uow: UnitOfWork, events: Sequence[Event]) -> None:
    """Add the applied events to the scores of their users' active duels, inside the
    caller's transaction: one read and at most one write for the whole group."""
    if not events:
        return
    users = sorted({e.user_id for e in events})
    sides = await uow.duels.scoring_sides(users, sorted({e.type for e in events}))
    if sides:
        await uow.duels.add_scores(score_steps(sides, events))


async def settle_due(*, uow: UnitOfWork, now: dt.datetime, feed: Feed = NO_FEED) -> int:
    """Settle every active duel whose window (and grace) has ended: the outcome and its
    grants in one transaction per batch. Replicas may run it at once: a duel held by one is
    skipped by the others, and a settled duel is never taken again."""
    done = 0
    while True:
        async with uow:
            due = await uow.duels.claim_due(DuelState.ACTIVE, now - SETTLEMENT_GRACE, BATCH)
            if not due:
                return done
            settled = [_settled(duel, now) for duel in due]
            grants = [g for duel in settled if duel.state is DuelState.SETTLED
                      for g in outcome(duel).grants]  # fmt: skip
            await uow.outbox.add(grants)
            await uow.duels.save(settled)
            await uow.commit()
        await publish_duels(feed, settled, grants, now)
        done += len(due)


def _settled(duel: Duel, now: dt.datetime) -> Duel:
    if not duel.challenger_id or not duel.opponent_id:
        return replace(duel, state=DuelState.CANCELLED, settled_at=now)
    return replace(duel, state=DuelState.SETTLED, winner_id=outcome(duel).winner_id, settled_at=now)


async def expire_due(*, uow: UnitOfWork, now: dt.datetime, feed: Feed = NO_FEED) -> int:
    """Expire every pending challenge whose answer is overdue."""
    done = 0
    while True:
        async with uow:
            due = await uow.duels.claim_due(DuelState.PENDING, now, BATCH)
            if not due:
                return done
            expired = [replace(d, state=DuelState.EXPIRED) for d in due]
            await uow.duels.save(expired)
            await uow.commit()
        await publish_duels(feed, expired, [], now)
        done += len(due)


async def upkeep(*, uow: UnitOfWork, now: dt.datetime, feed: Feed = NO_FEED) -> tuple[int, int]:
    """One pass of the background duty: (expired, settled)."""
    expired = await expire_due(uow=uow, now=now, feed=feed)
    settled = await settle_due(uow=uow, now=now, feed=feed)
    if expired or settled:
        log.info("duels: %d challenges expired, %d duels settled", expired, settled)
    return expired, settled
