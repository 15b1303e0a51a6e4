"""Duel handlers: ops define duel types; players challenge, answer, and read their duels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from service.app.audit import SYSTEM, Actor, Change, record
from service.app.live.ports import NO_FEED, Feed
from service.app.live.publish import publish_duels
from service.app.paging import PageTokens, page_size
from service.app.ports import Clock, UnitOfWork
from service.domain.duels import Duel, DuelState, DuelType, check_challenge
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from service.domain.validation import check_id

DEFAULT_PAGE, MAX_PAGE = 20, 100


@dataclass(frozen=True, slots=True)
class CreateDuel:
    challenger_id: str
    opponent_id: str
    type_id: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Created:
    duel: Duel
    duplicate: bool


@dataclass(frozen=True, slots=True)
class DuelPage:
    duels: list[Duel]
    next_page_token: str


async def upsert_duel_type(
    duel_type: DuelType, *, uow: UnitOfWork, clock: Clock, actor: Actor = SYSTEM
) -> DuelType:
    """Store the type as its next version; duels already created keep their terms."""
    duel_type.validate()
    async with uow:
        before = await uow.duels.get_type(duel_type.type_id)
        stored = await uow.duels.put_type(duel_type, clock.now())
        change = Change(
            "DuelAdminService/UpsertDuelType", "duel_type", stored.type_id,
            before.version if before else None, stored.version,
        )  # fmt: skip
        await record(uow, actor, clock, change)
        await uow.commit()
    return stored


async def get_duel_type(type_id: str, *, uow: UnitOfWork) -> DuelType:
    check_id("type_id", type_id)
    async with uow:
        found = await uow.duels.get_type(type_id)
    if found is None:
        raise NotFound("duel type", type_id)
    return found


async def list_duel_types(*, uow: UnitOfWork) -> list[DuelType]:
    async with uow:
        return await uow.duels.list_types()


async def create_duel(
    cmd: CreateDuel, *, uow: UnitOfWork, clock: Clock, feed: Feed = NO_FEED
) -> Created:
    """Challenge the opponent on a live duel type, within the challenger's open-duel limit;
    a repeated idempotency key answers the duel it created."""
    check_id("challenger_id", cmd.challenger_id)
    check_id("opponent_id", cmd.opponent_id)
    check_id("type_id", cmd.type_id)
    check_id("idempotency_key", cmd.idempotency_key)
    check_challenge(cmd.challenger_id, cmd.opponent_id)
    now = clock.now()
    async with uow:
        await uow.duels.hold_user(cmd.challenger_id)
        known = await uow.duels.find_request(cmd.challenger_id, cmd.idempotency_key)
        if known is not None:
            if (known.terms.type_id, known.opponent_id) != (cmd.type_id, cmd.opponent_id):
                raise FailedPrecondition(
                    f"idempotency_key {cmd.idempotency_key!r} was used for another duel"
                )
            return Created(known, duplicate=True)
        terms = await uow.duels.get_type(cmd.type_id)
        if terms is None or terms.archived:
            raise NotFound("duel type", cmd.type_id)
        if await uow.duels.open_count(cmd.challenger_id, terms.type_id) >= terms.max_open_per_user:
            raise ResourceExhausted(
                f"challenger_id: has {terms.max_open_per_user} open duels of type "
                f"{terms.type_id}, the most it allows"
            )
        duel = Duel(
            0, terms, cmd.challenger_id, cmd.opponent_id, DuelState.PENDING, now,
            now + terms.respond_within,
        )  # fmt: skip
        duel = await uow.duels.add(duel, cmd.idempotency_key)
        await uow.commit()
    await publish_duels(feed, [duel], [], now)
    return Created(duel, duplicate=False)


async def respond_to_duel(
    duel_id: int, user_id: str, accept: bool, *, uow: UnitOfWork, clock: Clock,
    feed: Feed = NO_FEED,
) -> Duel:  # fmt: skip
    """The challenged user's answer; accepting starts the duel's window now."""
    _check_duel_id(duel_id)
    check_id("user_id", user_id)
    now = clock.now()
    async with uow:
        await uow.duels.hold_user(user_id)
        duel = await uow.duels.get(duel_id, lock=True)
        if duel is None or not duel.side_of(user_id):
            raise NotFound("duel", str(duel_id))
        if duel.opponent_id != user_id:
            raise FailedPrecondition(f"only the challenged user answers duel {duel_id}")
        answered = DuelState.ACTIVE if accept else DuelState.DECLINED
        if duel.state is answered or (accept and duel.state is DuelState.SETTLED):
            return duel  # the same answer again: a retry
        if duel.state is not DuelState.PENDING:
            raise FailedPrecondition(f"duel {duel_id} is {duel.state}: it takes no answer")
        if now >= duel.respond_by:
            raise FailedPrecondition(f"duel {duel_id} expired at {duel.respond_by.isoformat()}")
        terms = duel.terms
        if accept and await uow.duels.open_count(user_id, terms.type_id) >= terms.max_open_per_user:
            raise ResourceExhausted(
                f"user_id: has {terms.max_open_per_user} open duels of type {terms.type_id}, "
                "the most it allows"
            )
        changed = replace(duel, state=answered)
        if accept:
            changed = replace(changed, started_at=now, ends_at=now + terms.window)
        await uow.duels.save([changed])
        await uow.commit()
    await publish_duels(feed, [changed], [], now)
    return changed


async def get_duel(duel_id: int, user_id: str, *, uow: UnitOfWork) -> Duel:
    """A duel the user is in; any other is not found, to them."""
    _check_duel_id(duel_id)
    check_id("user_id", user_id)
    async with uow:
        duel = await uow.duels.get(duel_id)
    if duel is None or not duel.side_of(user_id):
        raise NotFound("duel", str(duel_id))
    return duel


async def list_my_duels(
    user_id: str,
    states: Sequence[DuelState],
    size: int,
    token: str,
    *,
    uow: UnitOfWork,
    tokens: PageTokens,
) -> DuelPage:
    """The user's duels, newest first, one page."""
    check_id("user_id", user_id)
    limit = page_size(size, DEFAULT_PAGE, MAX_PAGE)
    wanted = sorted(set(states))
    where = {"user_id": user_id, "states": [str(s) for s in wanted]}
    before = tokens.decode(token, where)
    async with uow:
        duels = await uow.duels.of_user(user_id, wanted, before, limit + 1)
    more = len(duels) > limit
    duels = duels[:limit]
    return DuelPage(duels, tokens.encode(duels[-1].duel_id, where) if more else "")


def _check_duel_id(duel_id: int) -> None:
    if duel_id <= 0:
        raise InvalidArgument("duel_id", "must be positive")
