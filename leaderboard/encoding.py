"""How scores, tie-breakers and metadata are laid out in Redis, and the limits that keep them exact.

Layout of one board-period (key names live in `leaderboard.keys`):

- `scores` ZSET. Its score is the *stored score*: the member's integer score on a
  lower-is-better board and its negation on a higher-is-better board, so the best member is
  always first in ascending order (ZRANGE, ZRANK, ZCOUNT) and both sort orders share one code
  path. Every integer with |n| <= 2^53 is exact in a double, and so is its negation.
- Its member is the *encoded member*: `reached_at_ms` zero-padded to 13 digits, ":", member id.
  Redis orders equal scores by member bytes, ascending, so among equal scores whoever reached the
  score earlier comes first, exact to the millisecond; at the same millisecond the smaller member
  id (by UTF-8 bytes, which is code point order) comes first. Score and time never share a
  double, so nothing is rounded. Every tie policy keeps this order; under dense and competition
  it only orders the entries inside a tie group, whose ranks are equal.
- The member index finds a member's encoded member from its id: member id -> the 13-digit
  `reached_at_ms` of its encoded member, followed by the revision of its last `put` (digits,
  if it has one), so that an older copy never overwrites it. It is spread over HASH buckets
  `index:0`, `index:1`, ... by linear hashing of the member id: the `index` HASH holds the
  bucket count as `level` and `split` (2^level + split buckets; none stored means one), and
  whenever the members outgrow 40 a bucket on average, the next bucket in turn splits in two.
  Each split moves at most one bucket's entries, and the fullest bucket stays below the 128
  entries up to which Redis keeps a hash in its listpack encoding (about 24 bytes a member
  for 12-character ids, against about 77 in one big hash table; a bucket holding an id
  longer than 64 bytes becomes a hash table, as Redis's `hash-max-listpack-value` says, and
  only costs more memory). Buckets only split: a board that shrinks keeps its count until
  it is cleared or loaded again.
- `distinct` ZSET and `refcount` HASH: each stored score held by at least one member, and how
  many hold it; a dense rank is 1 + the number of distinct stored scores below the member's.
- `metadata` HASH: member id -> compact JSON {"n": display name, "a": avatar URL}.

`reached_at_ms` is the `at_ms` of the submission that last changed the member's score; a
submission that leaves the score unchanged keeps the earlier time.

Limits: scores are ints with |score| <= 2^53 (a sum that would leave that range is refused
whole); `at_ms` is 0 <= at_ms < 10^13 (before 2286-11-20 UTC); member ids are 1..128
characters and encodable as UTF-8. Per call: a page or top list holds 1..1000 entries, an
around-me window 1..1000, a friends list at most 1000 ids; idempotency keys are 1..200
characters, display names 1..64, avatar URLs 1..2048.
"""

from __future__ import annotations

import hashlib
import json

from leaderboard.errors import InvalidArgument, LimitExceeded, ScoreOutOfRange
from leaderboard.models import MemberMetadata, SortOrder

MAX_SCORE = 2**53
MIN_SCORE = -(2**53)
AT_MS_DIGITS = 13
MAX_AT_MS = 10**AT_MS_DIGITS - 1
MEMBER_PREFIX_LEN = AT_MS_DIGITS + 1  # the digits and the ":" separator
MAX_MEMBER_ID_LENGTH = 128
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_DISPLAY_NAME_LENGTH = 64
MAX_AVATAR_URL_LENGTH = 2048
MAX_PAGE_SIZE = 1000
MAX_AROUND_SIZE = 1000
MAX_FRIENDS = 1000


def check_score(value: object, field: str = "score") -> int:
    # bool is an int subclass, and an integral float would hide a caller's unit mistake.
    if type(value) is not int:
        raise ScoreOutOfRange(field, "must be an int")
    if not MIN_SCORE <= value <= MAX_SCORE:
        raise ScoreOutOfRange(field, f"must be within -2^53..2^53, got {value}")
    return value


def check_at_ms(value: object, field: str = "at_ms") -> int:
    if type(value) is not int or not 0 <= value <= MAX_AT_MS:
        raise InvalidArgument(field, f"must be an int of Unix milliseconds in 0..{MAX_AT_MS}")
    return value


def _check_text(field: str, value: object, maximum: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= maximum:
        raise InvalidArgument(field, f"must be a string of 1..{maximum} characters")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidArgument(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def check_member_id(value: object, field: str = "member_id") -> str:
    return _check_text(field, value, MAX_MEMBER_ID_LENGTH)


def check_idempotency_key(value: object) -> str:
    return _check_text("idempotency_key", value, MAX_IDEMPOTENCY_KEY_LENGTH)


def check_count(field: str, value: object, maximum: int) -> int:
    """Return `value` if it is an int in 1..maximum (a page size, window or list length)."""
    if type(value) is not int or not 1 <= value <= maximum:
        raise LimitExceeded(field, f"must be an int in 1..{maximum}")
    return value


def check_metadata(value: object) -> MemberMetadata:
    if not isinstance(value, MemberMetadata):
        raise InvalidArgument("metadata", "must be a MemberMetadata")
    if value.display_name is not None:
        _check_text("metadata.display_name", value.display_name, MAX_DISPLAY_NAME_LENGTH)
    if value.avatar_url is not None:
        _check_text("metadata.avatar_url", value.avatar_url, MAX_AVATAR_URL_LENGTH)
    return value


def stored_score(score: int, order: SortOrder) -> int:
    """The ZSET score of `score`: negated when higher is better, so ascending is best-first."""
    return -score if order is SortOrder.HIGHER_IS_BETTER else score


def score_of(stored: int, order: SortOrder) -> int:
    """The inverse of `stored_score` (negation is its own inverse)."""
    return stored_score(stored, order)


def reached_prefix(at_ms: int) -> str:
    return f"{at_ms:0{AT_MS_DIGITS}d}"


def encode_member(member_id: str, at_ms: int) -> str:
    return f"{reached_prefix(at_ms)}:{member_id}"


def member_id_of(encoded: str) -> str:
    return encoded[MEMBER_PREFIX_LEN:]


def encode_metadata(metadata: MemberMetadata) -> str:
    """Compact JSON, or "" for empty metadata (which deletes the stored field)."""
    fields = {"n": metadata.display_name, "a": metadata.avatar_url}
    present = {name: text for name, text in fields.items() if text is not None}
    return json.dumps(present, separators=(",", ":"), ensure_ascii=False) if present else ""


def decode_metadata(raw: str | None) -> MemberMetadata | None:
    if raw is None:
        return None
    fields = json.loads(raw)
    if not isinstance(fields, dict):
        return None
    name, avatar = fields.get("n"), fields.get("a")
    return MemberMetadata(
        display_name=name if isinstance(name, str) else None,
        avatar_url=avatar if isinstance(avatar, str) else None,
    )


def fingerprint(member_id: str, value: int) -> str:
    """What a retried submit must repeat; not `at_ms`, which a retry may read from a clock again."""
    return hashlib.sha256(json.dumps([member_id, value]).encode()).hexdigest()[:32]
