"""Operators' grant handlers: list, inspect, retry dead grants, reconcile, count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from service.app.audit import SYSTEM, Actor, Change
from service.app.grants.ports import (
    DeadSelection,
    GrantDetail,
    GrantFilter,
    GrantStore,
    LoyaltyCannotList,
    LoyaltySink,
)
from service.app.paging import PageTokens, page_size
from service.app.ports import Clock
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from service.domain.grant_delivery import OutboxGrant, OutboxStats, Reconciliation, reconcile
from service.domain.validation import check_id

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_GRANT_ID_LENGTH = 512
MAX_RETRY_IDS = 1000
MAX_RECONCILE_RANGE = dt.timedelta(days=7)
MAX_RECONCILE_GRANTS = 200_000


@dataclass(frozen=True, slots=True)
class ListGrants:
    where: GrantFilter = field(default_factory=GrantFilter)
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class GrantPage:
    grants: tuple[OutboxGrant, ...]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class ReconcileGrants:
    created_after: dt.datetime | None
    created_before: dt.datetime | None


def _check_grant_id(field: str, value: str) -> None:
    if not value or len(value) > MAX_GRANT_ID_LENGTH or not value.isprintable():
        raise InvalidArgument(field, f"must be 1 to {MAX_GRANT_ID_LENGTH} printable characters")


def _check_range(after: dt.datetime | None, before: dt.datetime | None) -> None:
    if after and before and after >= before:
        raise InvalidArgument("created_before", "must be later than created_after")


async def list_grants(query: ListGrants, *, store: GrantStore, tokens: PageTokens) -> GrantPage:
    """One page of grants, newest first."""
    where = query.where
    if where.user_id:
        check_id("user_id", where.user_id)
    if len(where.cause_ref) > MAX_GRANT_ID_LENGTH:
        raise InvalidArgument("cause_ref", f"must be at most {MAX_GRANT_ID_LENGTH} characters")
    _check_range(where.created_after, where.created_before)
    size = page_size(query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    before_id = tokens.decode(query.page_token, where)
    grants = await store.list(where, before_id, size + 1)
    page = tuple(grants[:size])
    token = tokens.encode(page[-1].id, where) if len(grants) > size else ""
    return GrantPage(page, token)


async def get_grant(grant_id: str, *, store: GrantStore) -> GrantDetail:
    """The grant with its cause chain."""
    _check_grant_id("grant_id", grant_id)
    detail = await store.get(grant_id)
    if detail is None:
        raise NotFound("grant", grant_id)
    return detail


async def retry_dead_grants(
    selection: DeadSelection, *, store: GrantStore, clock: Clock, actor: Actor = SYSTEM
) -> int:
    """Give the selected dead grants a fresh attempt budget; return how many moved."""
    if not (selection.grant_ids or selection.user_id or selection.everything):
        raise InvalidArgument("grant_ids", "name grants, a user_id, or set all")
    if len(selection.grant_ids) > MAX_RETRY_IDS:
        raise InvalidArgument("grant_ids", f"must hold at most {MAX_RETRY_IDS} ids")
    for i, grant_id in enumerate(selection.grant_ids):
        _check_grant_id(f"grant_ids[{i}]", grant_id)
    if selection.user_id:
        check_id("user_id", selection.user_id)
    kind, target = ("user", selection.user_id) if selection.user_id else ("grants", "dead")
    scope = {"grant_ids": len(selection.grant_ids), "all": selection.everything}

    def change(retried: int) -> Change:
        details = {**scope, "retried": retried}
        return Change("GrantAdminService/RetryDeadGrants", kind, target, details=details)

    return await store.retry_dead(selection, clock.now(), actor, change)


async def reconcile_grants(
    cmd: ReconcileGrants,
    *,
    store: GrantStore,
    sink: LoyaltySink | None,
    clock: Clock,
    actor: Actor = SYSTEM,
) -> Reconciliation:
    """Compare what we marked delivered with what the loyalty system reports, for a range."""
    start, end = cmd.created_after, cmd.created_before
    if start is None or end is None:
        raise InvalidArgument("created_after", "and created_before are both required")
    _check_range(start, end)
    if end - start > MAX_RECONCILE_RANGE:
        raise InvalidArgument("created_before", "must be at most 7 days after created_after")
    if sink is None:
        raise FailedPrecondition("no loyalty system is configured (ENGAGEMENT_LOYALTY_SINK)")
    ours = await store.delivered_ids(start, end, MAX_RECONCILE_GRANTS)
    try:
        theirs = await sink.received_ids(start, end, MAX_RECONCILE_GRANTS)
    except LoyaltyCannotList as exc:
        raise FailedPrecondition(f"cannot reconcile: {exc}") from exc
    if max(len(ours), len(theirs)) > MAX_RECONCILE_GRANTS:
        raise InvalidArgument(
            "created_before", f"the range holds over {MAX_RECONCILE_GRANTS} grants; narrow it"
        )
    result = reconcile(ours, theirs)
    details = {
        "created_after": start.isoformat(), "created_before": end.isoformat(),
        "matched": result.matched, "missing_at_sink": len(result.missing_at_sink),
        "unconfirmed": len(result.unconfirmed),
    }  # fmt: skip
    # Reconciling changes nothing: the entry records that an operator compared the two sides.
    change = Change("GrantAdminService/ReconcileGrants", "grants", "delivered", details=details)
    await store.audit(clock.now(), actor, change)
    return result


async def grant_stats(*, store: GrantStore) -> OutboxStats:
    """Counters of the outbox across every relay."""
    return await store.stats()
