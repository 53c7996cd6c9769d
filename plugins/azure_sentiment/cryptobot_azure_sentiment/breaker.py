"""A circuit breaker, so a sick service is left alone instead of being asked every tick.

Closed: calls go through. The first failure opens it for ``cooldown``
seconds, during which calls are refused at once (the agent reports itself
unavailable without waiting on the network). After the cooldown one trial
call is let through (half-open): success closes the breaker, failure opens
it again for twice as long, up to ``max_cooldown``. Time is a monotonic
clock, never the market's: in a backtest, market time races ahead of the
wall clock, and backing off is about the service's wall-clock health.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        cooldown: float,
        max_cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = cooldown
        self._max = max_cooldown
        self._clock = clock
        self._cooldown = cooldown
        self._retry_at = 0.0
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.last_error = ""

    def allow(self) -> bool:
        """Whether a call may go out now; moves an expired open breaker to half-open."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self._clock() >= self._retry_at:
            self.state = BreakerState.HALF_OPEN
            return True
        return False  # open, or half-open with its one trial call already out

    def retry_in(self) -> float:
        """Seconds until the next trial call (0 when closed)."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        return max(0.0, self._retry_at - self._clock())

    def success(self) -> None:
        self.state = BreakerState.CLOSED
        self._cooldown = self._base
        self.last_error = ""

    def failure(self, error: str) -> None:
        if self.state is BreakerState.HALF_OPEN:
            self._cooldown = min(self._max, self._cooldown * 2)
        self.state = BreakerState.OPEN
        self._retry_at = self._clock() + self._cooldown
        self.failures += 1
        self.last_error = error
