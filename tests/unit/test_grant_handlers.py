"""The operators' grant handlers over an in-memory grant store: validation and paging."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

import pytest

from service.app.audit import Actor, Change
from service.app.grants import handlers as grants
from service.app.grants.ports import (
    DeadSelection,
    GrantDetail,
    GrantFilter,
    LoyaltyCannotList,
)
from service.app.paging import PageTokens
from service.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from service.domain.grant_delivery import DeliveryResult, GrantStatus, OutboxGrant, OutboxStats
from service.domain.rewards import Grant, Reward, RewardKind
from tests.support.clock import MovableClock

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
CLOCK = MovableClock(AT)
TOKENS = PageTokens(b"k" * 32)


def _item(id_: int, status: GrantStatus = GrantStatus.DELIVERED) -> OutboxGrant:
    grant = Grant(f"k{id_}", "u1", Reward(RewardKind.POINTS, 1), "r", "t", "c", 1)
    return OutboxGrant(id_, grant, status, 1, AT + dt.timedelta(seconds=id_))


class FakeGrantStore:
    def __init__(self, items: Sequence[OutboxGrant]) -> None:
        self.items = {i.id: i for i in items}
        self.retried: list[DeadSelection] = []
        self.audited: list[tuple[Actor, Change]] = []

    async def list(
        self, where: GrantFilter, before_id: int | None, limit: int
    ) -> list[OutboxGrant]:
        found = [
            i for i in sorted(self.items.values(), key=lambda i: -i.id)
            if (before_id is None or i.id < before_id)
            and (where.status is None or i.status is where.status)
        ]  # fmt: skip
        return found[:limit]

    async def get(self, grant_id: str) -> GrantDetail | None:
        found = [i for i in self.items.values() if i.grant.idempotency_key == grant_id]
        return GrantDetail(found[0], None) if found else None

    async def retry_dead(
        self,
        selection: DeadSelection,
        at: dt.datetime,
        actor: Actor,
        change: Callable[[int], Change],
    ) -> int:
        self.retried.append(selection)
        self.audited.append((actor, change(1)))
        return 1

    async def audit(self, at: dt.datetime, actor: Actor, change: Change) -> None:
        self.audited.append((actor, change))

    async def delivered_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        return {i.grant.idempotency_key for i in self.items.values() if start <= i.created_at < end}

    async def stats(self) -> OutboxStats:
        return OutboxStats(0, 0, len(self.items), 0, 0.0)


class ListingSink:
    def __init__(self, ids: set[str], can_list: bool = True) -> None:
        self.ids = ids
        self.can_list = can_list

    async def deliver(self, grants: Sequence[OutboxGrant]) -> list[DeliveryResult]:
        raise NotImplementedError

    async def received_ids(self, start: dt.datetime, end: dt.datetime, limit: int) -> set[str]:
        if not self.can_list:
            raise LoyaltyCannotList("no listing here")
        return self.ids

    async def close(self) -> None:
        pass


async def test_pages_walk_every_grant_newest_first_exactly_once() -> None:
    store = FakeGrantStore([_item(i) for i in range(1, 8)])
    seen: list[int] = []
    query = grants.ListGrants(page_size=3)
    while True:
        page = await grants.list_grants(query, store=store, tokens=TOKENS)
        seen.extend(g.id for g in page.grants)
        if not page.next_page_token:
            break
        query = dataclasses.replace(query, page_token=page.next_page_token)

    assert seen == [7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (grants.ListGrants(page_size=1001), "page_size"),
        (grants.ListGrants(page_size=-1), "page_size"),
        (grants.ListGrants(GrantFilter(user_id="x" * 129)), "user_id"),
        (grants.ListGrants(GrantFilter(created_after=AT, created_before=AT)), "created_before"),
        (grants.ListGrants(page_token="garbage"), "page_token"),
    ],
)
async def test_bad_list_queries_name_the_field(query: grants.ListGrants, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        await grants.list_grants(query, store=FakeGrantStore([]), tokens=TOKENS)
    assert raised.value.field == field


async def test_an_unknown_grant_is_not_found() -> None:
    with pytest.raises(NotFound, match="nope"):
        await grants.get_grant("nope", store=FakeGrantStore([_item(1)]))
    with pytest.raises(InvalidArgument):
        await grants.get_grant("", store=FakeGrantStore([]))


async def test_retrying_dead_grants_needs_a_selection() -> None:
    store = FakeGrantStore([])
    with pytest.raises(InvalidArgument, match="grant_ids"):
        await grants.retry_dead_grants(DeadSelection(), store=store, clock=CLOCK)
    with pytest.raises(InvalidArgument, match="at most 1000"):
        await grants.retry_dead_grants(
            DeadSelection(tuple(map(str, range(1001)))), store=store, clock=CLOCK
        )

    assert (
        await grants.retry_dead_grants(DeadSelection(everything=True), store=store, clock=CLOCK)
        == 1
    )
    assert store.retried == [DeadSelection(everything=True)]
    actor, change = store.audited[0]
    assert (actor.subject, change.rpc, change.details["retried"]) == (
        "system",
        "GrantAdminService/RetryDeadGrants",
        1,
    )


async def test_reconcile_compares_both_sides_of_the_range() -> None:
    store = FakeGrantStore([_item(1), _item(2), _item(3)])
    cmd = grants.ReconcileGrants(AT, AT + dt.timedelta(hours=1))

    result = await grants.reconcile_grants(
        cmd, store=store, sink=ListingSink({"k2", "k3", "k9"}), clock=CLOCK
    )

    assert (result.matched, result.missing_at_sink, result.unconfirmed) == (2, ("k1",), ("k9",))


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (grants.ReconcileGrants(None, AT), InvalidArgument),
        (grants.ReconcileGrants(AT, AT + dt.timedelta(days=8)), InvalidArgument),
        (grants.ReconcileGrants(AT, AT - dt.timedelta(hours=1)), InvalidArgument),
    ],
)
async def test_bad_reconcile_ranges_are_invalid(
    cmd: grants.ReconcileGrants, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await grants.reconcile_grants(
            cmd, store=FakeGrantStore([]), sink=ListingSink(set()), clock=CLOCK
        )


async def test_reconcile_needs_a_sink_that_lists() -> None:
    cmd = grants.ReconcileGrants(AT, AT + dt.timedelta(hours=1))
    with pytest.raises(FailedPrecondition, match="ENGAGEMENT_LOYALTY_SINK"):
        await grants.reconcile_grants(cmd, store=FakeGrantStore([]), sink=None, clock=CLOCK)
    with pytest.raises(FailedPrecondition, match="cannot reconcile"):
        await grants.reconcile_grants(
            cmd, store=FakeGrantStore([]), sink=ListingSink(set(), can_list=False), clock=CLOCK
        )
