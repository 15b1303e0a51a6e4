"""Conditions on an event's value and attributes: structured predicates, never code."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from service.domain.errors import InvalidArgument

VALUE_FIELD = "value"
ATTRIBUTE_PREFIX = "attributes."
MAX_CONDITIONS = 16
MAX_OPERANDS = 64
MAX_OPERAND_LENGTH = 256
# Event values are integers within ±2^53; a bound beyond that only hides a typo.
MAX_NUMBER = 2**53
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    EXISTS = "exists"


_NUMERIC = {Op.LT, Op.LE, Op.GT, Op.GE}
_SINGLE = {Op.EQ, Op.NE, *_NUMERIC}


@dataclass(frozen=True, slots=True)
class Condition:
    """`field op operands`, where field is "value" or "attributes.<name>".

    Ordering operators compare numbers; eq, ne, in and not_in compare text (the value as
    its decimal digits).
    """

    field: str
    op: Op
    operands: tuple[str, ...] = ()

    def validate(self, name: str) -> None:
        attribute = self.field.removeprefix(ATTRIBUTE_PREFIX)
        if self.field != VALUE_FIELD and not (
            self.field.startswith(ATTRIBUTE_PREFIX) and _ATTRIBUTE_NAME.fullmatch(attribute)
        ):
            raise InvalidArgument(f"{name}.field", 'must be "value" or "attributes.<name>"')
        if self.op is Op.EXISTS:
            if self.operands:
                raise InvalidArgument(f"{name}.operands", "must be empty for exists")
            if self.field == VALUE_FIELD:
                raise InvalidArgument(f"{name}.field", "exists applies to attributes only")
        elif self.op in _SINGLE and len(self.operands) != 1:
            raise InvalidArgument(
                f"{name}.operands", f"must hold exactly one operand for {self.op}"
            )
        elif not 1 <= len(self.operands) <= MAX_OPERANDS:
            raise InvalidArgument(f"{name}.operands", f"must hold 1 to {MAX_OPERANDS} operands")
        for operand in self.operands:
            if len(operand) > MAX_OPERAND_LENGTH:
                raise InvalidArgument(
                    f"{name}.operands", f"must be at most {MAX_OPERAND_LENGTH} characters each"
                )
        if self.op in _NUMERIC and _bound(self.operands[0]) is None:
            raise InvalidArgument(
                f"{name}.operands", f"{self.op} needs a finite number within ±2^53"
            )

    def holds(self, value: int, attributes: Mapping[str, str]) -> bool:
        return self.why_not(value, attributes) is None

    def why_not(self, value: int, attributes: Mapping[str, str]) -> str | None:
        """None when the condition holds, else a reason a person can read."""
        if self.field == VALUE_FIELD:
            actual: str | None = str(value)
        else:
            actual = attributes.get(self.field.removeprefix(ATTRIBUTE_PREFIX))
        if actual is None:
            return f"{self.field} is missing"
        if self.op is Op.EXISTS:
            return None
        if self.op in _NUMERIC:
            number, bound = _number(actual), _number(self.operands[0])
            if number is None or bound is None:
                return f"{self.field} = {actual!r} is not a number"
            held = _COMPARE[self.op](number, bound)
        elif self.op is Op.EQ:
            held = actual == self.operands[0]
        elif self.op is Op.NE:
            held = actual != self.operands[0]
        elif self.op is Op.IN:
            held = actual in self.operands
        else:
            held = actual not in self.operands
        return None if held else f"{self.field} = {actual!r} is not {self.op} {list(self.operands)}"


_COMPARE = {
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _bound(text: str) -> float | None:
    """A definition's numeric operand: finite and within ±MAX_NUMBER, else None."""
    number = _number(text)
    if number is None or not math.isfinite(number) or abs(number) > MAX_NUMBER:
        return None
    return number


def validate_conditions(name: str, conditions: tuple[Condition, ...]) -> None:
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidArgument(name, f"must hold at most {MAX_CONDITIONS} conditions")
    for index, condition in enumerate(conditions):
        condition.validate(f"{name}[{index}]")


def all_hold(conditions: tuple[Condition, ...], value: int, attributes: Mapping[str, str]) -> bool:
    return all(c.holds(value, attributes) for c in conditions)
