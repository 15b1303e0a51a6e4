"""Turning raw script replies (bytes or str, as the client decodes) into the library's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from leaderboard.encoding import decode_metadata, member_id_of, score_of
from leaderboard.errors import UnexpectedReply
from leaderboard.models import BoardConfig, Entry, MemberMetadata
from leaderboard.ranking import Anchor, slice_ranks


def text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise UnexpectedReply(f"expected a string, got {value!r}")


def integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(text(value))
    except ValueError:
        raise UnexpectedReply(f"expected an integer, got {value!r}") from None


def array(value: object) -> list[object]:
    if not isinstance(value, list):
        raise UnexpectedReply(f"expected an array, got {value!r}")
    return value


def metadata(value: object) -> MemberMetadata | None:
    if value is None:
        return None
    try:
        return decode_metadata(text(value))
    except ValueError:
        raise UnexpectedReply(f"metadata is not JSON: {value!r}") from None


def slice_entries(raw_slice: object, board: BoardConfig) -> list[Entry]:
    """Entries of a `slice` reply: {start, ahead, distinct_ahead, rows, metadata} or {}."""
    parts = array(raw_slice)
    if not parts:
        return []
    start, ahead, distinct_ahead, raw_rows, raw_metadata = parts
    rows, metas = array(raw_rows), array(raw_metadata)
    # The hot loop of every page read: plain decode/int (int() takes bytes) where the
    # reply has the expected types, the checking helpers otherwise.
    members, scores = cast("list[bytes]", rows[0::2]), cast("list[bytes | int]", rows[1::2])
    try:
        encoded = [member.decode() for member in members]
        stored = [int(score) for score in scores]
    except (AttributeError, TypeError, ValueError):
        encoded = [text(member) for member in members]
        stored = [integer(score) for score in scores]
    anchor = Anchor(integer(start), integer(ahead), integer(distinct_ahead))
    ranks = slice_ranks(stored, anchor, board.tie_policy)
    return [
        Entry(member_id_of(member), score_of(score, board.sort_order), rank, metadata(meta))
        for member, score, rank, meta in zip(encoded, stored, ranks, metas, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    """What the submit script reports, and stores under an idempotency key."""

    fingerprint: str
    score: int
    anchor: Anchor
    member_count: int

    @classmethod
    def parse(cls, raw: object) -> SubmitRecord:
        fields = text(raw).split(" ")
        if len(fields) != 6:
            raise UnexpectedReply(f"malformed submit record {raw!r}")
        fingerprint, score, position, ahead, distinct_ahead, count = fields
        return cls(
            fingerprint,
            integer(score),
            Anchor(integer(position), integer(ahead), integer(distinct_ahead)),
            integer(count),
        )


def friend_rows(reply: object) -> list[tuple[str, int, MemberMetadata | None]]:
    """(encoded member, stored score, metadata) rows from the friends reply's parallel arrays."""
    encoded, stored, metas = (array(part) for part in array(reply))
    return [
        (text(member), integer(score), metadata(meta))
        for member, score, meta in zip(encoded, stored, metas, strict=True)
    ]
