"""Hypothesis strategies for request bodies of any RPC, built from its proto descriptors.

A request is valid-looking (known ids in id fields, sane numbers), invalid or hostile (huge
and control-character strings, int64 extremes, unknown enum numbers, full lists and maps,
forged page tokens, far timestamps), or a raw body that does not parse at all.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor
MAX_DEPTH = 3
# Full lists stay below a megabyte; the server's receive limit is 4 MB.
MAX_BYTES = 1_000_000

HOSTILE_STRINGS = (
    "", " ", "\t\n", "\x00", "a\x00b", "\x1b[2J", "\u202egnp.exe", "\ufeff", "İ", "ß", "🙂" * 3,
    "../../etc/passwd", "{tag}", "}{", "%s%n%x", "'; drop table streaks; --", "null", "NaN",
    "-1", "0", "9" * 40, "user:*", "*", "?", "a" * 65, "a" * 129, "é" * 300,
)  # fmt: skip
INT_EXTREMES = (
    0, 1, -1, 2**31 - 1, -(2**31), 2**32 - 1, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63),
    2**64 - 1,
)  # fmt: skip
FORGED_TOKENS = (
    "", "AAAA", "0", "-1", "eyJvZmZzZXQiOi0xfQ==", "eyJpZCI6IjEgb3IgMT0xIn0", "%%%", "===",
    "MTAwMDAwMDAwMDAwMDAwMDAwMDA", base64.urlsafe_b64encode(b"\xff" * 24).decode(),
)  # fmt: skip
FULL_SIZES = (32, 33, 100, 500, 501, 1000, 1001)
# Seconds since the epoch: the ends of Timestamp's range and beyond it.
FAR_SECONDS = (-62135596800, -62135596801, 253402300799, 253402300800, 0, -1, 2**62, -(2**62))
_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1), F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1), F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1), F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1), F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1), F.TYPE_FIXED64: (0, 2**64 - 1),
}  # fmt: skip


@dataclass(frozen=True)
class Known:
    """Ids that exist on the server, so that requests naming them reach the handlers."""

    now: dt.datetime
    users: Sequence[str]
    boards: Sequence[str]
    definitions: Sequence[str]
    event_types: Sequence[str]
    keys: Sequence[str]
    timezones: Sequence[str]
    segments: Sequence[str]
    periods: Sequence[str]
    partitions: Sequence[str]
    grants: Sequence[str]
    # Page tokens the server issued, and forgeries of them.
    page_tokens: Sequence[str] = ()

    def for_field(self, name: str) -> Sequence[str]:
        """The known values a string field of this name plausibly takes (may be none)."""
        if "user_id" in name or "member_id" in name or name in _USER_FIELDS:
            return self.users
        table: dict[str, Sequence[str]] = {
            "board_id": self.boards, "event_type": self.event_types,
            "event_types": self.event_types, "source_event_types": self.event_types,
            "type": self.event_types, "idempotency_key": self.keys,
            "timezone": self.timezones, "segments": self.segments, "period_id": self.periods,
            "partition": self.partitions, "grant_id": self.grants, "grant_ids": self.grants,
            "page_token": (*FORGED_TOKENS, *self.page_tokens), "day": self.days(),
            "starts_on": self.days(), "ends_on": self.days(),
            "month": (self.now.strftime("%Y-%m"), "2026-13", "0000-00"),
            "after_id": self.feed_ids(),
        }  # fmt: skip
        if name in table:
            return table[name]
        if name.endswith(("_id", "_ids", "prerequisites")):
            return self.definitions
        return ()

    def feed_ids(self) -> Sequence[str]:
        """Live feed positions: the start, recent, far ahead, and at and past 64 bits."""
        recent = f"{int(self.now.timestamp() * 1000)}-0"
        return ("0-0", recent, "99999999999999-0", f"{2**64 - 1}-{2**64 - 1}", f"{2**64}-0")

    def days(self) -> Sequence[str]:
        today = self.now.date()
        return (*(str(today - dt.timedelta(days=n)) for n in (0, 1, 2, 40)), "2026-02-30")


# Fields naming a user without saying user_id: friends, a duel's players, an assist's helper.
_USER_FIELDS = frozenset({"friend_ids", "challenger_id", "opponent_id", "helper_id"})


PLAIN = st.from_regex(r"[a-z][a-z0-9_.-]{0,15}", fullmatch=True)
HUGE = st.sampled_from((1_000, 5_000, 70_000, 300_000)).map(lambda n: "x" * n)


def hostile_strings() -> st.SearchStrategy[str]:
    controls = st.characters(codec="ascii", categories=["Cc"])
    listed = st.sampled_from(HOSTILE_STRINGS)
    return st.one_of(
        listed, listed, listed,
        st.text(max_size=24),  # any unicode but lone surrogates, which protobuf cannot carry
        st.text(alphabet=controls, min_size=1, max_size=8),
        HUGE,
    )  # fmt: skip


def _string(field: FieldDescriptor, known: Known, hostile: bool) -> st.SearchStrategy[str]:
    pool = known.for_field(field.name)
    if pool:
        known_values = st.sampled_from(tuple(pool))
        if not hostile:
            return st.one_of(known_values, known_values, known_values, PLAIN)
        return st.one_of(known_values, PLAIN, hostile_strings())
    return st.one_of(PLAIN, hostile_strings()) if hostile else PLAIN


def _integer(field: FieldDescriptor, hostile: bool) -> st.SearchStrategy[int]:
    low, high = _RANGES[field.type]
    small = st.integers(max(low, 0), 100)
    if not hostile:
        return small
    extremes = st.sampled_from([n for n in INT_EXTREMES if low <= n <= high])
    return st.one_of(small, extremes, st.integers(low, high))


def _scalar(field: FieldDescriptor, known: Known, hostile: bool) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return _string(field, known, hostile)
    if kind in _RANGES:
        return _integer(field, hostile)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = st.sampled_from([v.number for v in field.enum_type.values if v.number])
        return st.one_of(numbers, st.sampled_from((0, -1, 99, 2**31 - 1))) if hostile else numbers
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        width: Literal[32, 64] = 64 if kind == F.TYPE_DOUBLE else 32
        return st.floats(width=width) if hostile else st.floats(0, 100, width=width)
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    raise AssertionError(f"no strategy for {field.full_name} of type {kind}")


class Requests:
    """Strategies for messages of any type in the descriptors, cached by type and depth:
    valid-looking ones, or with `hostile` also invalid and hostile values."""

    def __init__(self, known: Known, *, hostile: bool) -> None:
        self.known, self.hostile = known, hostile
        self._cache: dict[tuple[str, int], st.SearchStrategy[Message]] = {}

    def message(self, descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
        key = (descriptor.full_name, depth)
        if key not in self._cache:
            self._cache[key] = st.deferred(lambda: self._build(descriptor, depth))
        return self._cache[key]

    def _build(self, descriptor: Descriptor, depth: int) -> st.SearchStrategy[Message]:
        cls = GetMessageClass(descriptor)
        if descriptor.full_name == "google.protobuf.Timestamp":
            return self._timestamp(cls)
        if depth >= MAX_DEPTH:
            return st.just(cls())
        fields = [(f, self._value(f, depth)) for f in descriptor.fields]
        presence = st.booleans() if self.hostile else st.integers(0, 4).map(bool)

        @st.composite
        def build(draw: Callable[..., Any]) -> Message:
            message = cls()
            for field, values in fields:
                if draw(presence):
                    _assign(message, field, draw(values))
            return message

        return build()

    def _value(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            entry = st.tuples(self._single(key, depth), self._single(value, depth))
            if not self.hostile:
                return st.lists(entry, max_size=3).map(dict)
            return st.one_of(*[st.lists(entry, max_size=3)] * 4, _full(entry)).map(dict)
        single = self._single(field, depth)
        if not field.is_repeated:
            return single
        if not self.hostile:
            return st.lists(single, min_size=1, max_size=3)
        return st.one_of(*[st.lists(single, max_size=3)] * 4, _full(single))

    def _single(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        if field.message_type is not None:
            return self.message(field.message_type, depth + 1)
        return _scalar(field, self.known, self.hostile)

    def _timestamp(self, cls: type[Message]) -> st.SearchStrategy[Message]:
        now = int(self.known.now.timestamp())
        # Most within the week an event may lie in the past, some in the weeks around it.
        recent = st.integers(now - 6 * 86400, now)
        near = st.one_of(recent, recent, st.integers(now - 40 * 86400, now + 86400))
        if not self.hostile:
            return st.builds(lambda s: cls(seconds=s), near)
        seconds = st.one_of(near, near, near, st.sampled_from(FAR_SECONDS))
        nanos = st.one_of(st.just(0), st.integers(0, 999_999_999), st.sampled_from((-1, 10**9)))
        return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _full(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """A list or map at or just past a size limit: one value repeated (a map's keys are
    numbered), within the byte budget."""

    def repeat(value: Any, size: int) -> list[Any]:
        each = value.ByteSize() if isinstance(value, Message) else len(str(value))
        if isinstance(value, tuple):  # a map entry
            key, item = value
            return [(f"{key}{n}", item) for n in range(min(size, MAX_BYTES // max(1, each)))]
        return [value] * min(size, max(1, MAX_BYTES // max(1, each)))

    return st.builds(repeat, values, st.sampled_from(FULL_SIZES))


def _assign(message: Message, field: FieldDescriptor, value: Any) -> None:
    target = getattr(message, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            if value_field.message_type is not None:
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif field.is_repeated:
        target.extend(value)
    elif field.message_type is not None:
        target.CopyFrom(value)
    else:
        setattr(message, field.name, value)


def raw_bodies(requests: Requests, descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Bodies that mostly do not parse as `descriptor`: random bytes, truncated messages,
    invalid UTF-8 in a string field, and tags with wrong or invalid wire types."""
    valid = requests.message(descriptor).map(lambda m: m.SerializeToString())
    numbers = [f.number for f in descriptor.fields] or [1]
    strings = [f.number for f in descriptor.fields if f.type == F.TYPE_STRING] or numbers
    truncated = st.builds(lambda b, cut: b[: cut % max(1, len(b))], valid, st.integers(0, 2**16))
    bad_utf8 = st.builds(
        lambda n, bad, b: _tag(n, 2) + bytes([len(bad)]) + bad + b,
        st.sampled_from(strings),
        st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"a\x80")),
        valid,
    )
    wire = st.builds(
        lambda n, w, tail: _tag(n, w) + tail,
        st.sampled_from([*numbers, 0, 2**29]),
        st.sampled_from((3, 4, 6, 7)),  # an unmatched group, invalid wire types
        st.binary(max_size=16),
    )
    overlong = st.builds(lambda n: _tag(n, 2) + b"\xff\xff\xff\xff\x0f", st.sampled_from(numbers))
    return st.one_of(st.binary(min_size=1, max_size=64), truncated, bad_utf8, wire, overlong)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint((number << 3) | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def forgeries(token: str) -> list[str]:
    """A real page token and near copies: one character changed, cut short, lengthened."""
    if not token:
        return []
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    return [token, flipped, token[: len(token) // 2], token + "A", token[::-1]]
