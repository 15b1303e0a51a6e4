"""Balances and inventory folded from a user's grants; rewards' validity."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain import wallet
from service.domain.errors import InvalidArgument
from service.domain.grant_delivery import GrantStatus, OutboxGrant
from service.domain.rewards import Grant, Reward, RewardKind

AT = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


def _item(
    n: int, reward: Reward, status: GrantStatus, expires_at: dt.datetime | None = None
) -> OutboxGrant:
    grant = Grant(f"k{n}", "ann", reward, "why", "test", f"test:{n}", 1, expires_at)
    return OutboxGrant(n, grant, status, 1, AT + dt.timedelta(minutes=n))


def test_balances_add_up_each_state_and_list_points_and_xp_first() -> None:
    coupon = Reward(RewardKind.COUPON, 2, "c")
    grants = [
        _item(1, Reward(RewardKind.POINTS, 10), GrantStatus.DELIVERED),
        _item(2, Reward(RewardKind.POINTS, 5), GrantStatus.PENDING),
        _item(3, Reward(RewardKind.POINTS, 7), GrantStatus.DEAD),
        _item(4, coupon, GrantStatus.PENDING),
        _item(5, Reward(RewardKind.POINTS, 100), GrantStatus.CANCELLED),
    ]

    found = wallet.balances(grants)

    assert [(b.kind, b.item_code, b.granted, b.delivered, b.pending, b.dead) for b in found] == [
        (RewardKind.POINTS, "", 22, 10, 5, 7),
        (RewardKind.XP, "", 0, 0, 0, 0),
        (RewardKind.COUPON, "c", 2, 0, 2, 0),
    ]
    assert found[0].grant_count == 3
    assert found[0].last_granted_at == AT + dt.timedelta(minutes=3)


def test_inventory_groups_by_code_and_expiry_and_leaves_out_dead_and_expired() -> None:
    soon, later = AT + dt.timedelta(days=1), AT + dt.timedelta(days=9)
    chest, coupon = Reward(RewardKind.ITEM, 1, "chest"), Reward(RewardKind.COUPON, 1, "c")
    grants = [
        _item(1, chest, GrantStatus.DELIVERED),
        _item(2, coupon, GrantStatus.PENDING, soon),
        _item(3, chest, GrantStatus.PENDING),
        _item(4, coupon, GrantStatus.DEAD, later),
        _item(5, coupon, GrantStatus.DELIVERED, later),
        _item(6, Reward(RewardKind.POINTS, 3), GrantStatus.DELIVERED),
    ]
    now = AT + dt.timedelta(days=2)

    current = wallet.inventory(grants, now, include_expired=False)
    everything = wallet.inventory(grants, now, include_expired=True)

    shape = [(e.item_code, e.quantity, e.pending, e.expires_at, e.first_id) for e in current]
    assert shape == [("c", 1, 0, later, 5), ("chest", 2, 1, None, 1)]
    assert [(e.first_id, e.expired(now)) for e in everything] == [(5, False), (2, True), (1, False)]


def test_a_reward_expires_its_valid_days_after_the_grant() -> None:
    assert Reward(RewardKind.COUPON, 1, "c", 7).expires_at(AT) == AT + dt.timedelta(days=7)
    assert Reward(RewardKind.COUPON, 1, "c").expires_at(AT) is None


@pytest.mark.parametrize(
    "reward",
    [
        Reward(RewardKind.XP, 1, "", 1),
        Reward(RewardKind.ITEM, 1, "x", -1),
        Reward(RewardKind.ITEM, 1, "x", 3651),
    ],
)
def test_a_validity_outside_its_range_or_kinds_names_the_field(reward: Reward) -> None:
    with pytest.raises(InvalidArgument) as raised:
        reward.validate("r")
    assert raised.value.field == "r.valid_days"
