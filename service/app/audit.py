"""The audit log of admin changes: who changed what, when, and which version it made."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from service.app.paging import PageTokens, page_size
from service.domain.errors import InvalidArgument
from service.domain.validation import check_id

if TYPE_CHECKING:
    from service.app.ports import Clock, UnitOfWork

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: the caller's subject and the call's request id."""

    subject: str
    request_id: str = ""


# Changes no caller asked for: background finalisation, the dev server's demo game, scripts.
SYSTEM = Actor("system")


@dataclass(frozen=True, slots=True)
class Change:
    """What one admin call changed; versions where the target has them."""

    rpc: str
    target_kind: str
    target_id: str
    version_before: int | None = None
    version_after: int | None = None
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    request_id: str
    change: Change


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of the audit list; empty values match everything."""

    after: dt.datetime | None = None
    before: dt.datetime | None = None
    actor: str = ""
    target_kind: str = ""
    target_id: str = ""


class AuditRepository(Protocol):
    """Audit entries, written inside the transaction of the change they record."""

    async def add(self, at: dt.datetime, actor: Actor, change: Change) -> None: ...

    async def list(self, where: AuditFilter, before_id: int | None, limit: int) -> list[AuditEntry]:
        """Matching entries with id below `before_id`, newest first."""
        ...


async def record(uow: UnitOfWork, actor: Actor, clock: Clock, change: Change) -> None:
    """Write `change` to the audit log inside the caller's open transaction."""
    await uow.audit.add(clock.now(), actor, change)


@dataclass(frozen=True, slots=True)
class ListAudit:
    where: AuditFilter = field(default_factory=AuditFilter)
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    next_page_token: str


def _check_filter(where: AuditFilter) -> None:
    if where.after and where.before and where.after >= where.before:
        raise InvalidArgument("before", "must be later than after")
    if where.actor:
        check_id("actor", where.actor)
    if where.target_id and not where.target_kind:
        raise InvalidArgument("target_kind", "is required with target_id")
    if where.target_kind:
        check_id("target_kind", where.target_kind)
    if where.target_id:
        check_id("target_id", where.target_id)


async def list_entries(query: ListAudit, *, uow: UnitOfWork, tokens: PageTokens) -> AuditPage:
    """One page of audit entries, newest first."""
    _check_filter(query.where)
    size = page_size(query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    before_id = tokens.decode(query.page_token, query.where)
    async with uow:
        found = await uow.audit.list(query.where, before_id, size + 1)
    page = tuple(found[:size])
    token = tokens.encode(page[-1].id, query.where) if len(found) > size else ""
    return AuditPage(page, token)
