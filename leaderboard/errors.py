"""The leaderboard library's error tree; callers map these classes to their own status codes."""


class LeaderboardError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidArgument(LeaderboardError):
    """A malformed or out-of-range argument; nothing was written."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class ScoreOutOfRange(InvalidArgument):
    """A submitted or loaded score is not an integer within the exact range."""


class LimitExceeded(InvalidArgument):
    """A page, window or member list is larger than the library serves in one call."""


class InvalidPeriod(InvalidArgument):
    """A period spec, period id or instant the period helpers cannot use."""


class ScoreOverflow(LeaderboardError):
    """Aggregating a valid submission would leave the exact range; nothing was written."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"the aggregated score of {member_id!r} would leave the exact range")
        self.member_id = member_id


class IdempotencyConflict(LeaderboardError):
    """An idempotency key was reused for a different member or value."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            f"idempotency key {idempotency_key!r} was first used for a different submission"
        )
        self.idempotency_key = idempotency_key


class OutsideSeason(LeaderboardError):
    """The instant lies outside the season's [start, end)."""

    def __init__(self, season_id: str) -> None:
        super().__init__(f"the instant is outside season {season_id!r}")
        self.season_id = season_id


class NotLoaded(LeaderboardError):
    """The board-period's copy was never loaded or was lost; nothing was read or written.

    Raised only by boards built with `require_loaded=True`: `load` the board-period from the
    store of record, then retry.
    """

    def __init__(self, board_id: str, period_id: str) -> None:
        super().__init__(f"board {board_id!r} period {period_id!r} is not loaded")
        self.board_id = board_id
        self.period_id = period_id


class LoadLost(LeaderboardError):
    """A load's staged rows expired before its swap, after a pause between two chunks longer
    than the staging TTL; the board-period is unchanged: load it again."""

    def __init__(self) -> None:
        super().__init__("the load's staged rows expired before the swap; load again")


class UnexpectedReply(LeaderboardError):
    """Redis answered in a shape the library does not know; a bug or foreign data."""
