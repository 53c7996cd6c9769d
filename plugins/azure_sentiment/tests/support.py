"""Shared test data: headlines around a fixed instant, a hand-moved clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cryptobot_azure_sentiment.testing import Item

T = TypeVar("T")
NOW = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)

HEADLINES = [
    Item("a1", "Bitcoin ETF inflows hit record as rally continues", NOW - timedelta(hours=1)),
    Item("a2", "Exchange hack drains $40m in BTC", NOW - timedelta(hours=3)),
    Item("a3", "Bitcoin miners report strong gains", NOW - timedelta(hours=6)),
    Item("a4", "Ethereum upgrade approved by core developers", NOW - timedelta(hours=2)),
    Item("a5", "Bitcoin lawsuit fears weigh on sentiment", NOW - timedelta(hours=30)),  # too old
    Item("a6", "Bitcoin surges past record in the future", NOW + timedelta(hours=1)),  # future
]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()

    return asyncio.run(main())
