"""Retry timing with tenacity: the persisted per-grant backoff and in-process retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff with jitter: initial * 2**(attempts - 1) plus up to `initial`."""

    initial_seconds: float
    max_seconds: float

    def _wait(self) -> wait_exponential_jitter:
        return wait_exponential_jitter(
            multiplier=self.initial_seconds, max=self.max_seconds, jitter=self.initial_seconds
        )

    def delay(self, attempts: int) -> float:
        """Seconds before the next delivery of a grant that has failed `attempts` times."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = max(1, attempts)
        return float(self._wait()(state))

    async def call(
        self,
        action: Callable[[], Awaitable[T]],
        *,
        retry_on: tuple[type[BaseException], ...],
        within_seconds: float,
    ) -> T:
        """Run `action`, retrying the listed errors with this backoff for `within_seconds`."""
        retrying = AsyncRetrying(
            wait=self._wait(),
            stop=stop_after_delay(within_seconds),
            retry=retry_if_exception_type(retry_on),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await action()
        raise AssertionError("unreachable: tenacity reraises the last error")
