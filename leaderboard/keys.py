"""Every Redis key name of the library; one board-period's keys share one cluster hash tag."""

from __future__ import annotations

import re
from dataclasses import dataclass

from leaderboard.errors import InvalidArgument

# Braces would move the hash tag and ':' would let two (board, period) pairs spell the same tag.
_PART = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_PREFIX = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def check_part(field: str, value: str) -> str:
    """Return `value` if it may be a board id or period id inside a key, else raise."""
    if not isinstance(value, str) or not _PART.fullmatch(value):
        raise InvalidArgument(field, "must be 1..64 characters of A-Z a-z 0-9 _ . -")
    return value


def check_prefix(value: str) -> str:
    """Return `value` if it may be a deployment's key prefix, else raise."""
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise InvalidArgument("key_prefix", "must be 1..64 characters of A-Z a-z 0-9 _ . : -")
    return value


@dataclass(frozen=True, slots=True)
class BoardKeys:
    """The keys of one board-period, all under the hash tag `{prefix:board:period}`."""

    tag: str

    @classmethod
    def of(cls, prefix: str, board_id: str, period_id: str) -> BoardKeys:
        check_prefix(prefix)
        check_part("board_id", board_id)
        check_part("period_id", period_id)
        return cls(f"{{{prefix}:{board_id}:{period_id}}}")

    @property
    def scores(self) -> str:
        """ZSET: encoded member -> stored score; the standings themselves."""
        return f"{self.tag}:scores"

    @property
    def index(self) -> str:
        """HASH: the member index's state; its buckets, HASHes of member id -> the tie-break
        prefix of its encoded member and its put revision, are `index:0`, `index:1`, ...
        (see `leaderboard.encoding`)."""
        return f"{self.tag}:index"

    @property
    def distinct(self) -> str:
        """ZSET: each stored score held by at least one member; it gives dense ranks."""
        return f"{self.tag}:distinct"

    @property
    def refcount(self) -> str:
        """HASH: stored score -> how many members hold it; it keeps `distinct` exact."""
        return f"{self.tag}:refcount"

    @property
    def metadata(self) -> str:
        """HASH: member id -> metadata JSON."""
        return f"{self.tag}:metadata"

    @property
    def loaded(self) -> str:
        """HASH: present while the copy holds everything loaded into it and every write since;
        field `revisions` is the sum of its members' revisions (see `Leaderboard.checksum`).
        (Named `ready`: a copy in the superseded layout is not loaded, so it is loaded again.)

        Only a `load` creates it; it goes with the data (an expiry, a flush, a lost node), so
        its absence tells a store of record that its copy has to be loaded again.
        """
        return f"{self.tag}:ready"

    @property
    def expiry(self) -> str:
        """STRING: the retention deadline in Unix ms, which later writes copy to new keys."""
        return f"{self.tag}:expiry"

    @property
    def superseded(self) -> tuple[str, str, str]:
        """The member index, revisions and loaded marker of the earlier layout, which a
        `load` and `delete` remove."""
        return (f"{self.tag}:members", f"{self.tag}:revisions", f"{self.tag}:loaded")

    def bucket(self, n: int) -> str:
        """HASH: bucket `n` of the member index."""
        return f"{self.index}:{n}"

    @property
    def standings(self) -> tuple[str, str, str, str]:
        """The keys that `load` rebuilds and `clear` removes, in the order scripts expect
        (with the index's buckets)."""
        return (self.scores, self.index, self.distinct, self.refcount)

    @property
    def data(self) -> tuple[str, str, str, str, str]:
        """Every key that holds board data (standings and metadata)."""
        return (*self.standings, self.metadata)

    def idempotency(self, idempotency_key: str) -> str:
        """STRING with a TTL: the first result of the submit that used `idempotency_key`."""
        return f"{self.tag}:idem:{idempotency_key}"

    def staging(self, load_id: str) -> tuple[str, str, str, str]:
        """Private copies of `standings` that one `load` fills before it swaps them in."""
        base = f"{self.tag}:load:{load_id}"
        names = ("scores", "index", "distinct", "refcount")
        return tuple(f"{base}:{name}" for name in names)  # type: ignore[return-value]
