"""Background work for leaderboards: catalog invalidation, Redis repairs and healing, due
finalisations; duels' expiry and settlement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from service.app.boards import heal as board_heal
from service.app.boards import periods as board_periods
from service.app.boards.ports import BoardKey
from service.app.leagues import seasons as league_seasons
from service.app.social import duel_settlement
from service.bootstrap import App
from service.redis_keys import definitions_channel
from service.waiting import pause

log = logging.getLogger(__name__)

REPAIR_INTERVAL_SECONDS = 1.0
FINALIZE_INTERVAL_SECONDS = 15.0
# Members who played last season are placed in this one's cohorts only once it has ended:
# a short interval keeps that wait short.
SEASON_END_INTERVAL_SECONDS = 5.0
# How often every board-period Redis should hold is checked for a lost copy: one pipeline of
# EXISTS per thousand board-periods, and one Postgres query per board.
HEAL_INTERVAL_SECONDS = 5.0
# How often every present copy is compared with Postgres (a count and a sum of revisions per
# board-period on each side), to find copies that are behind.
VERIFY_INTERVAL_SECONDS = 60.0
# How often ended duels are settled and unanswered challenges expired.
DUEL_INTERVAL_SECONDS = 5.0


async def heal_boards(app: App) -> int:
    """Reload from Postgres every board-period (each board, rookie board, partition and
    retained period) whose Redis copy is missing; return how many were reloaded. Replicas
    may run it at once: each board-period is reloaded by one of them."""
    return await board_heal.heal_all(uow=app.uow, boards=app.boards)


async def verify_boards(app: App, seen: dict[BoardKey, int]) -> int:
    """Rebuild every copy that is present but behind Postgres; return how many were rebuilt.

    A board-period counts only once it is settled: no score changed it since the previous
    pass, whose latest revisions `seen` keeps (so a first pass only takes note).
    """
    return await board_heal.verify_all(uow=app.uow, boards=app.boards, seen=seen)


async def _every(
    name: str, seconds: float, work: Callable[[], Awaitable[object]], stopping: asyncio.Event
) -> None:
    while not stopping.is_set():
        # An outage or a bug must not end the loop: every step is safe to repeat.
        try:
            await work()
        except Exception as exc:  # noqa: BLE001
            log.warning("%s failed: %r", name, exc)
        await pause(stopping, seconds)


def _invalidate(app: App) -> None:
    app.boards.catalog.invalidate()
    app.rules.catalog.invalidate()
    app.programs.invalidate()
    if app.rules.goals is not None:
        app.rules.goals.invalidate()
    app.leagues.catalog.invalidate()


async def _follow_definitions(app: App, upkeep: BoardUpkeep) -> None:
    """Invalidate the board, rule and program catalogs whenever any replica stores a new
    definition."""
    stopping = upkeep.stopping
    while not stopping.is_set():
        try:
            async with app.pubsub.pubsub() as pubsub:
                await pubsub.subscribe(definitions_channel(app.settings.redis_key_prefix))
                _invalidate(app)  # changes missed while unsubscribed
                upkeep.following.set()
                while not stopping.is_set():
                    if await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0):
                        _invalidate(app)
        except Exception as exc:  # noqa: BLE001 - reconnect after any Redis failure
            log.warning("following board definitions failed: %r", exc)
            await pause(stopping, REPAIR_INTERVAL_SECONDS)


@dataclass
class BoardUpkeep:
    """The running loops; stop() lets each finish its current step."""

    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Set once definition changes of other replicas are being followed.
    following: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)


def start_board_upkeep(app: App, *, duties: bool = True) -> BoardUpkeep:
    """Follow definition changes (every process needs that: each has its own catalogs) and,
    with `duties`, do the shared work: repairs, healing, verification, finalisation, duels,
    league seasons. The workers of one host leave the duties to one of them; across hosts the
    locks each step takes share them."""
    upkeep = BoardUpkeep()

    async def repair() -> None:
        await board_periods.repair(uow=app.uow(), boards=app.boards)

    async def finalize() -> None:
        if done := await board_periods.finalize_due(
            uow=app.uow(), boards=app.boards, rules=app.rules
        ):
            log.info("finalised %d board-periods", done)

    async def heal() -> None:
        if healed := await heal_boards(app):
            log.warning("reloaded %d board-periods that Redis had lost", healed)

    async def end_seasons() -> None:
        if done := await league_seasons.end_due(
            uow=app.uow(), leagues=app.leagues, rules=app.rules
        ):
            log.info("ended %d league seasons", done)

    seen: dict[BoardKey, int] = {}

    async def verify() -> None:
        if rebuilt := await verify_boards(app, seen):
            log.warning("rebuilt %d board-periods whose Redis copy was behind", rebuilt)

    async def duels() -> None:
        await duel_settlement.upkeep(uow=app.uow(), now=app.clock.now(), feed=app.boards.feed)

    duties_every: list[tuple[str, float, Callable[[], Awaitable[object]]]] = [
        ("board verification", VERIFY_INTERVAL_SECONDS, verify),
        ("board healing", HEAL_INTERVAL_SECONDS, heal),
        ("board repair", REPAIR_INTERVAL_SECONDS, repair),
        ("board finalisation", FINALIZE_INTERVAL_SECONDS, finalize),
        ("duel settlement", DUEL_INTERVAL_SECONDS, duels),
        ("league seasons", SEASON_END_INTERVAL_SECONDS, end_seasons),
    ]
    loops = [_follow_definitions(app, upkeep)]
    if duties:
        loops += [_every(*duty, upkeep.stopping) for duty in duties_every]
    upkeep.tasks = [asyncio.create_task(loop) for loop in loops]
    return upkeep
