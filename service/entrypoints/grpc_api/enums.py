"""The one way a domain enum and its proto enum are translated, both ways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from service.domain.errors import InvalidArgument

D = TypeVar("D")
P = TypeVar("P", bound=int)


class EnumTable(Generic[D, P]):
    """A domain enum and its proto enum; UNSPECIFIED (0) maps to a default where one exists."""

    def __init__(self, to_pb: Mapping[D, P]) -> None:
        self._to_pb = dict(to_pb)
        self._from_pb = {value: key for key, value in to_pb.items()}

    def to_pb(self, value: D) -> P:
        return self._to_pb[value]

    def from_pb(self, value: P, field: str, default: D | None = None) -> D:
        """The domain value of `value`; InvalidArgument naming `field` and the values allowed."""
        if value in self._from_pb:
            return self._from_pb[value]
        if value == 0 and default is not None:
            return default
        names = ", ".join(str(key) for key in self._to_pb)
        raise InvalidArgument(field, f"must be one of {names}")
