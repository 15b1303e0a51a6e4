"""The audit log and privacy handlers over in-memory adapters: validation, paging, pseudonyms."""

from __future__ import annotations

import datetime as dt

import pytest

from service.app import audit
from service.app.audit import Actor, AuditFilter, Change, ListAudit
from service.app.paging import PageTokens
from service.app.privacy import handlers as privacy
from service.domain.errors import InvalidArgument
from tests.support.clock import MovableClock
from tests.support.fakes import FakeUnitOfWork, Store

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
TOKENS = PageTokens(b"k" * 32)


async def _store_with(entries: int) -> Store:
    store = Store()
    uow = FakeUnitOfWork(store)
    clock = MovableClock(AT)
    for n in range(entries):
        async with uow:
            change = Change("RulesAdminService/SetUserSegments", "user", f"u{n}")
            await audit.record(uow, Actor("ops", f"req-{n}"), clock, change)
            await uow.commit()
    return store


async def test_entries_page_newest_first() -> None:
    store = await _store_with(5)

    seen: list[str] = []
    token = ""
    while True:
        query = ListAudit(AuditFilter(), page_size=2, page_token=token)
        page = await audit.list_entries(query, uow=FakeUnitOfWork(store), tokens=TOKENS)
        seen += [e.change.target_id for e in page.entries]
        token = page.next_page_token
        if not token:
            break

    assert seen == ["u4", "u3", "u2", "u1", "u0"]
    assert {e.request_id for e in store.audit} == {f"req-{n}" for n in range(5)}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ListAudit(page_size=-1), "page_size"),
        (ListAudit(page_size=501), "page_size"),
        (ListAudit(AuditFilter(after=AT, before=AT)), "before"),
        (ListAudit(AuditFilter(target_id="u1")), "target_kind"),
        (ListAudit(AuditFilter(actor="x" * 129)), "actor"),
    ],
)
async def test_bad_queries_name_the_field(query: ListAudit, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await audit.list_entries(query, uow=FakeUnitOfWork(Store()), tokens=TOKENS)
    assert raised.value.field == field


def test_a_pseudonym_is_stable_and_does_not_spell_the_user_id() -> None:
    pseudonym = privacy.pseudonym_of("alice")

    assert pseudonym == privacy.pseudonym_of("alice")
    assert pseudonym != privacy.pseudonym_of("alicf")
    assert pseudonym.startswith("erased-")
    assert "alice" not in pseudonym
