"""The small tree of errors the domain and handlers raise; the API maps them to status codes."""


class DomainError(Exception):
    """Base of every error a caller is meant to see."""


class InvalidArgument(DomainError):
    """A malformed or out-of-range field."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFound(DomainError):
    """An unknown id."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")


class FailedPrecondition(DomainError):
    """The request is valid but the state does not allow it (already done, period closed)."""


class ResourceExhausted(DomainError):
    """A rate limit or cap is reached."""


class Unavailable(DomainError):
    """What the request needs is being restored (a board rebuilt from the ledger); retry soon."""
