"""Rule conditions: every operator on the value and on attributes, and their validation."""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidArgument
from service.domain.rules.conditions import (
    MAX_CONDITIONS,
    MAX_OPERAND_LENGTH,
    MAX_OPERANDS,
    Condition,
    Op,
    all_hold,
    validate_conditions,
)

NO_ATTRIBUTES: dict[str, str] = {}


@pytest.mark.parametrize(
    ("op", "operands", "held_by", "failed_by"),
    [
        (Op.EQ, ("10",), 10, 11),
        (Op.NE, ("10",), 11, 10),
        (Op.LT, ("10",), 9, 10),
        (Op.LE, ("10",), 10, 11),
        (Op.GT, ("10",), 11, 10),
        (Op.GE, ("10",), 10, 9),
        (Op.IN, ("5", "10"), 5, 7),
        (Op.NOT_IN, ("5", "10"), 7, 10),
    ],
)
def test_every_operator_on_the_value(
    op: Op, operands: tuple[str, ...], held_by: int, failed_by: int
) -> None:
    condition = Condition("value", op, operands)
    condition.validate("c")

    assert condition.holds(held_by, NO_ATTRIBUTES)
    assert condition.why_not(held_by, NO_ATTRIBUTES) is None
    assert not condition.holds(failed_by, NO_ATTRIBUTES)
    assert condition.why_not(failed_by, NO_ATTRIBUTES) == (
        f"value = '{failed_by}' is not {op.value} {list(operands)}"
    )


@pytest.mark.parametrize(
    ("op", "operands", "held_by", "failed_by"),
    [
        (Op.EQ, ("books",), "books", "games"),
        (Op.NE, ("books",), "games", "books"),
        (Op.LT, ("2.5",), "2.25", "2.5"),
        (Op.LE, ("2.5",), "2.5", "2.51"),
        (Op.GT, ("-1",), "0", "-1"),
        (Op.GE, ("-1",), "-1", "-1.5"),
        (Op.IN, ("books", "music"), "music", "games"),
        (Op.NOT_IN, ("books", "music"), "games", "books"),
        (Op.EXISTS, (), "", None),
    ],
)
def test_every_operator_on_an_attribute(
    op: Op, operands: tuple[str, ...], held_by: str, failed_by: str | None
) -> None:
    condition = Condition("attributes.category", op, operands)
    condition.validate("c")

    assert condition.holds(0, {"category": held_by})
    if failed_by is None:
        assert condition.why_not(0, {"other": "x"}) == "attributes.category is missing"
    else:
        assert condition.why_not(0, {"category": failed_by}) == (
            f"attributes.category = {failed_by!r} is not {op.value} {list(operands)}"
        )


def test_ordering_operators_compare_numbers_not_text() -> None:
    # As text "10" < "9"; as numbers it is the other way round.
    above_nine = Condition("attributes.quantity", Op.GT, ("9",))
    assert above_nine.holds(0, {"quantity": "10"})
    assert not above_nine.holds(0, {"quantity": "8.99"})
    assert Condition("value", Op.LT, ("9",)).why_not(10, NO_ATTRIBUTES) == (
        "value = '10' is not lt ['9']"
    )


def test_equality_operators_compare_text() -> None:
    assert not Condition("value", Op.EQ, ("10.0",)).holds(10, NO_ATTRIBUTES)
    assert Condition("value", Op.GE, ("10.0",)).holds(10, NO_ATTRIBUTES)
    assert not Condition("attributes.sku", Op.IN, ("A1",)).holds(0, {"sku": "a1"})
    assert Condition("attributes.sku", Op.NOT_IN, ("A1",)).holds(0, {"sku": "a1"})


def test_a_non_numeric_attribute_fails_an_ordering_operator() -> None:
    condition = Condition("attributes.amount", Op.GE, ("1",))
    assert condition.why_not(0, {"amount": "lots"}) == "attributes.amount = 'lots' is not a number"


@pytest.mark.parametrize("op", [op for op in Op if op is not Op.EXISTS])
def test_a_missing_attribute_fails_every_operator(op: Op) -> None:
    operands = ("1", "2") if op in (Op.IN, Op.NOT_IN) else ("1",)
    condition = Condition("attributes.store", op, operands)
    condition.validate("c")

    # Even "not equal" and "not in" need the attribute to be there.
    assert condition.why_not(5, {"stores": "1"}) == "attributes.store is missing"
    assert condition.holds(5, {"store": "3"}) is (op in (Op.NE, Op.NOT_IN, Op.GT, Op.GE))


def test_the_value_is_never_missing() -> None:
    assert Condition("value", Op.LE, ("0",)).holds(0, NO_ATTRIBUTES)
    assert Condition("value", Op.LT, ("0",)).holds(-3, NO_ATTRIBUTES)


def test_all_hold_needs_every_condition() -> None:
    conditions = (
        Condition("attributes.category", Op.EQ, ("books",)),
        Condition("value", Op.GE, ("10",)),
    )
    assert all_hold((), 0, NO_ATTRIBUTES)
    assert all_hold(conditions, 10, {"category": "books"})
    assert not all_hold(conditions, 9, {"category": "books"})
    assert not all_hold(conditions, 10, {"category": "games"})
    assert not all_hold(conditions, 10, NO_ATTRIBUTES)


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        (Condition("amount", Op.EQ, ("1",)), "c.field"),
        (Condition("attributes.", Op.EQ, ("1",)), "c.field"),
        (Condition("attributes.a b", Op.EQ, ("1",)), "c.field"),
        (Condition("attributes." + "a" * 65, Op.EQ, ("1",)), "c.field"),
        (Condition("value", Op.EXISTS), "c.field"),
        (Condition("attributes.a", Op.EXISTS, ("1",)), "c.operands"),
        (Condition("value", Op.EQ, ()), "c.operands"),
        (Condition("value", Op.NE, ("1", "2")), "c.operands"),
        (Condition("value", Op.GT, ()), "c.operands"),
        (Condition("value", Op.IN, ()), "c.operands"),
        (Condition("value", Op.NOT_IN, ("1",) * (MAX_OPERANDS + 1)), "c.operands"),
        (Condition("attributes.a", Op.EQ, ("x" * (MAX_OPERAND_LENGTH + 1),)), "c.operands"),
        (Condition("value", Op.LT, ("ten",)), "c.operands"),
    ],
)
def test_a_malformed_condition_names_its_field(condition: Condition, field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        condition.validate("c")
    assert raised.value.field == field


def test_the_longest_allowed_condition_is_valid() -> None:
    Condition("attributes." + "a" * 64, Op.IN, ("x" * MAX_OPERAND_LENGTH,) * MAX_OPERANDS).validate(
        "c"
    )


def test_validate_conditions_names_the_index_and_the_limit() -> None:
    good = Condition("value", Op.GE, ("1",))
    with pytest.raises(InvalidArgument) as raised:
        validate_conditions("conditions", (good, Condition("value", Op.GE, ("x",))))
    assert raised.value.field == "conditions[1].operands"

    validate_conditions("conditions", (good,) * MAX_CONDITIONS)
    with pytest.raises(InvalidArgument) as raised:
        validate_conditions("conditions", (good,) * (MAX_CONDITIONS + 1))
    assert raised.value.field == "conditions"
