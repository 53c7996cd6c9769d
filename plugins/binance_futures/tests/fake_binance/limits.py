"""Request-weight accounting per minute, with Binance's 429 then 418 escalation."""

from __future__ import annotations

from dataclasses import dataclass

from .models import BinanceError

MINUTE_MS = 60_000


@dataclass
class WeightLimiter:
    limit: int = 2400
    ban_after: int = 3
    """Refused requests in one window before the IP is banned (418) for the rest of it."""
    pinned: bool = False
    """Never start a new window (tests that must not straddle a minute boundary)."""
    window: int = -1
    used: int = 0
    refused: int = 0

    def charge(self, now_ms: int, weight: int) -> int:
        """Count ``weight``; raise the 429/418 answer when the minute's budget is spent."""
        window = now_ms // MINUTE_MS
        if window != self.window and not (self.pinned and self.window >= 0):
            self.window, self.used, self.refused = window, 0, 0
        retry_after = str(max(1, ((window + 1) * MINUTE_MS - now_ms + 999) // 1000))
        if self.refused >= self.ban_after:
            until = (window + 1) * MINUTE_MS
            raise BinanceError(
                418, -1003,
                f"Way too many requests; IP(127.0.0.1) banned until {until}. Please use the "
                "websocket for live updates to avoid bans.",
                {"Retry-After": retry_after},
            )  # fmt: skip
        if self.used + weight > self.limit:
            self.refused += 1
            raise BinanceError(
                429, -1003,
                f"Too many requests; current limit of IP(127.0.0.1) is {self.limit} requests "
                "per minute. Please use the websocket for live updates to avoid polling the API.",
                {"Retry-After": retry_after},
            )  # fmt: skip
        self.used += weight
        return self.used
