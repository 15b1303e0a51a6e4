"""One line for each way an ops command can fail, and its exit code; never a traceback."""

from __future__ import annotations

import grpc

from engagement_client import ClientConfigError
from service.game.apply import ApplyError
from service.game.loader import GameFileError

# Exit codes: 1 other failure (or drift, for diff), 2 invalid input, 3 unreachable, 4 refused
# credentials, 5 not found.
INVALID, UNREACHABLE, REFUSED, NOT_FOUND, FAILED = 2, 3, 4, 5, 1


class OpsError(Exception):
    """A failure already phrased for the operator."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


_STATUS = {
    grpc.StatusCode.UNAVAILABLE: (
        "the service at {address} is unavailable: {details}", UNREACHABLE),
    grpc.StatusCode.DEADLINE_EXCEEDED: (
        "no answer from {address} before the deadline (--timeout)", UNREACHABLE),
    grpc.StatusCode.UNAUTHENTICATED: (
        "the service refused the credentials: {details} (see --token)", REFUSED),
    grpc.StatusCode.PERMISSION_DENIED: (
        "not allowed: {details} (an ops token is needed)", REFUSED),
    grpc.StatusCode.INVALID_ARGUMENT: ("invalid: {details}", INVALID),
    grpc.StatusCode.NOT_FOUND: ("not found: {details}", NOT_FOUND),
}  # fmt: skip


def _rpc(error: grpc.aio.AioRpcError, address: str) -> OpsError:
    code, details = error.code(), (error.details() or "").strip()
    if code == grpc.StatusCode.UNAVAILABLE and "refused" in details.lower():
        return OpsError(f"cannot reach the service at {address}: connection refused", UNREACHABLE)
    template, exit_code = _STATUS.get(code, (f"{code.name.lower()}: {{details}}", FAILED))
    return OpsError(template.format(address=address, details=details), exit_code)


def explain(error: BaseException, address: str) -> OpsError:
    """The operator's one-line version of `error`."""
    if isinstance(error, OpsError):
        return error
    if isinstance(error, ApplyError):
        done = (
            f" ({len(error.applied)} applied before it; rerun to continue)" if error.applied else ""
        )
        inner = _rpc(error.error, address)
        return OpsError(f"{error}{done}", inner.code)
    if isinstance(error, grpc.aio.AioRpcError):
        return _rpc(error, address)
    if isinstance(error, GameFileError):
        count = len(error.problems)
        lines = "\n  ".join(str(problem) for problem in error.problems)
        return OpsError(
            f"{count} problem(s) in the game files; nothing was sent:\n  {lines}", INVALID
        )
    if isinstance(error, ClientConfigError):
        return OpsError(str(error), INVALID)
    if isinstance(error, OSError):
        return OpsError(f"cannot read {error.filename or 'a file'}: {error.strerror}", INVALID)
    raise error
