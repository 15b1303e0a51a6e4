"""Shape checks on every request before its handler: text, timestamps, numbers, enums, sizes.

The walk follows each message's descriptor, so every field of every request is covered,
including those added later. The per-type plan is built once; a type without anything to
check (no text, timestamp, floating point, enum, list or map anywhere inside) is skipped.
Semantic rules (what an id looks like, which values make sense together) stay in the domain.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from service.domain.errors import InvalidArgument
from service.entrypoints.grpc_api.context import Context
from service.entrypoints.grpc_api.wrapping import (
    MethodHandler,
    StreamHandler,
    WrappingInterceptor,
    behaviour_of,
    server_stream,
    stream_behaviour_of,
    unary,
)

MAX_TEXT = 2048
MAX_MAP_KEY = 128
MAX_ITEMS = 1000
MAX_ENTRIES = 64
# Fields whose text may run over lines: descriptions. Everything else is one line.
FREE_TEXT_FIELDS = frozenset({"description"})
# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range RFC 3339 and Python can hold.
MIN_SECONDS = -62_135_596_800
MAX_SECONDS = 253_402_300_799
TIMESTAMP = "google.protobuf.Timestamp"

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional overrides
# and isolates that make a name display as something else.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_LINE_CONTROL = re.compile(f"[\t\n{_CONTROLS}]")
_FREE_TEXT_CONTROL = re.compile(f"[{_CONTROLS}]")
_DOUBLES = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)

Check = Callable[[Any], None]
# Per message type: (field name, whether it is a singular message, its check).
Plan = tuple[tuple[str, bool, Check], ...]


class _Refused(Exception):
    """A rule a value broke; the path is collected on the way out of the walk."""

    def __init__(self, rule: str, path: str = "") -> None:
        super().__init__(rule)
        self.rule = rule
        self.path = path

    def under(self, segment: str) -> _Refused:
        self.path = segment + ("." + self.path if self.path and self.path[0] != "[" else self.path)
        return self


def _text_check(free_text: bool) -> Check:
    controls = _FREE_TEXT_CONTROL if free_text else _LINE_CONTROL
    rule = "must not contain control characters"

    def check(value: str) -> None:
        if len(value) > MAX_TEXT:
            raise _Refused(f"must be at most {MAX_TEXT} characters")
        # isprintable() is one C call that is True for nearly all text; only then is a regex
        # needed to tell allowed characters (a tab, a no-break space) from controls.
        if not value.isprintable() and controls.search(value):
            raise _Refused(rule)

    return check


def _check_timestamp(value: Any) -> None:
    if not MIN_SECONDS <= value.seconds <= MAX_SECONDS:
        raise _Refused("must be a valid timestamp (years 1 to 9999)")
    if not 0 <= value.nanos <= 999_999_999:
        raise _Refused("must have nanos in 0..999999999")


def _check_finite(value: float) -> None:
    if not math.isfinite(value):
        raise _Refused("must be a finite number")


def _enum_check(known: frozenset[int]) -> Check:
    def check(value: int) -> None:
        if value not in known:
            raise _Refused(f"unknown enum value {value}")

    return check


def _repeated(inner: Check | None) -> Check:
    def check(values: Any) -> None:
        if len(values) > MAX_ITEMS:
            raise _Refused(f"must hold at most {MAX_ITEMS} items")
        if inner is None:  # integers and booleans: only the length is checked
            return
        for index, value in enumerate(values):
            try:
                inner(value)
            except _Refused as refused:
                raise refused.under(f"[{index}]") from None

    return check


def _mapping(key_check: Check | None, value_check: Check | None) -> Check:
    def check(values: Mapping[Any, Any]) -> None:
        if len(values) > MAX_ENTRIES:
            raise _Refused(f"must hold at most {MAX_ENTRIES} entries")
        for key, value in values.items():
            if key_check is not None:
                try:
                    key_check(key)
                except _Refused as refused:
                    raise _Refused(f"keys {refused.rule}") from None
            if value_check is not None:
                try:
                    value_check(value)
                except _Refused as refused:
                    raise refused.under(f'["{key}"]') from None

    return check


class RequestChecks:
    """The checks for each message type, built on first use and kept."""

    def __init__(self) -> None:
        self._plans: dict[Descriptor, Plan | None] = {}
        self._building: set[Descriptor] = set()

    def check(self, message: Message) -> None:
        """Raise InvalidArgument naming the first field path that breaks a rule."""
        plan = self._plan(cast(Descriptor, message.DESCRIPTOR))
        if plan is None:
            return
        try:
            self._walk(message, plan)
        except _Refused as refused:
            raise InvalidArgument(refused.path, refused.rule) from None

    def _walk(self, message: Message, plan: Plan) -> None:
        # getattr per planned field: ListFields() builds a descriptor and value per set field
        # and cost more than all the checks together.
        for name, singular_message, check in plan:
            if singular_message:
                if not message.HasField(name):
                    continue
                value = getattr(message, name)
            else:
                value = getattr(message, name)
                if not value:  # "", 0.0, enum 0 and empty lists always pass
                    continue
            try:
                check(value)
            except _Refused as refused:
                raise refused.under(name) from None

    def _plan(self, descriptor: Descriptor) -> Plan | None:
        if descriptor in self._plans:
            return self._plans[descriptor]
        self._building.add(descriptor)
        plan = tuple(
            (field.name, field.message_type is not None and not field.is_repeated, check)
            for field in descriptor.fields
            if (check := self._field_check(field)) is not None
        )
        self._building.discard(descriptor)
        self._plans[descriptor] = plan or None
        return self._plans[descriptor]

    def _field_check(self, field: FieldDescriptor) -> Check | None:
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            key, value = (self._single(f) for f in message_type.fields)
            return _mapping(key, value)
        single = self._single(field)
        if field.is_repeated:
            return _repeated(single)
        return single

    def _single(self, field: FieldDescriptor) -> Check | None:
        if field.message_type is not None:
            return self._message_check(field.message_type)
        if field.type == FieldDescriptor.TYPE_STRING:
            owner = field.containing_type
            if owner is not None and owner.GetOptions().map_entry and field.name == "key":
                return _key_check
            return _text_check(field.name in FREE_TEXT_FIELDS)
        if field.type in _DOUBLES:
            return _check_finite
        if field.enum_type is not None:
            return _enum_check(frozenset(v.number for v in field.enum_type.values))
        return None

    def _message_check(self, descriptor: Descriptor) -> Check | None:
        if descriptor.full_name == TIMESTAMP:
            return _check_timestamp
        if descriptor in self._building:  # a recursive type: decide at walk time
            return self._walk_known
        plan = self._plan(descriptor)
        if plan is None:
            return None
        return lambda value: self._walk(value, plan)

    def _walk_known(self, message: Message) -> None:
        plan = self._plan(cast(Descriptor, message.DESCRIPTOR))
        if plan is not None:
            self._walk(message, plan)


_line_text = _text_check(free_text=False)


def _key_check(value: str) -> None:
    if len(value) > MAX_MAP_KEY:
        raise _Refused(f"must be at most {MAX_MAP_KEY} characters")
    _line_text(value)


def _checked(checks: RequestChecks, inner: Callable[[Any, Context], Awaitable[Any]]) -> Any:
    async def handle(request: Message, context: Context) -> Any:
        checks.check(request)
        return await inner(request, context)

    return handle


class RequestCheckInterceptor(WrappingInterceptor):
    """Runs the request checks on every unary and server-streaming call, inside the error
    mapping."""

    def __init__(self, checks: RequestChecks) -> None:
        super().__init__()
        self._checks = checks

    def wrap(self, method: str, handler: MethodHandler) -> MethodHandler:
        if (streaming := stream_behaviour_of(handler)) is not None:
            return server_stream(handler, _checked_stream(self._checks, streaming))
        if handler.unary_unary is None:
            return handler
        return unary(handler, _checked(self._checks, behaviour_of(handler)))


def _checked_stream(checks: RequestChecks, inner: StreamHandler) -> StreamHandler:
    async def handle(request: Message, context: Context) -> AsyncIterator[Any]:
        checks.check(request)
        async for response in inner(request, context):
            yield response

    return handle
