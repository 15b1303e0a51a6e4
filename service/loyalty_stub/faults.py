"""Injected faults of the stub: a share of failing calls, before or after applying, and delay."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Faults:
    failure_rate: float = 0.0
    # True: apply the grants, then fail the call (an acknowledgement lost on the way back).
    fail_after_apply: bool = False
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if not 0.0 <= self.delay_seconds <= 60.0:
            raise ValueError("delay_seconds must be between 0 and 60")


@dataclass
class FaultInjector:
    """The current faults and the random source that picks which calls fail."""

    faults: Faults
    rng: random.Random

    def should_fail(self) -> bool:
        return self.faults.failure_rate > 0 and self.rng.random() < self.faults.failure_rate
