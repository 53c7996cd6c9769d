"""``pace: wall_clock``: a synthetic market that lives in real time and never ends by itself.

The engine a Helm chart deploys paper-trades on it until it is stopped (issue 13,
item 17). A fake clock (the source's ``wall_now`` and ``sleep``) runs days of
bars in milliseconds; the real-time run is tests/deploy/test_engine_runs_until_stopped.py.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_core.builtins.synthetic_market.source import SEGMENT_BARS, SyntheticMarket
from crypto_bot_sdk import Bar, DataSourceError, MarketEvent, MetricPoint

NOW = datetime(2026, 5, 4, 12, 0, 42, tzinfo=UTC)  # 42 s into a minute


class FakeClock:
    """Wall time that moves only when the source sleeps; records when each event came out."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept = 0

    def wall_now(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept += 1
        self.now += timedelta(seconds=seconds)


def _paced(clock: FakeClock, **settings: Any) -> SyntheticMarket:
    config = {
        "symbols": ["BTC/USDT"],
        "venues": ["paper"],
        "timeframe": "1m",
        "seed": 7,
        "pace": "wall_clock",
        **settings,
    }
    source = SyntheticMarket.from_config(config)
    source.wall_now = clock.wall_now
    source.sleep = clock.sleep
    return source


def _take(
    source: SyntheticMarket, count: int, clock: FakeClock
) -> list[tuple[MarketEvent, datetime]]:
    """The first ``count`` events with the wall time each was emitted at (the stream stays open)."""

    async def run() -> list[tuple[MarketEvent, datetime]]:
        out: list[tuple[MarketEvent, datetime]] = []
        stream = source.stream()
        async for event in stream:
            out.append((event, clock.now))
            if len(out) == count:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(run())


def test_bars_start_at_the_current_interval_and_come_when_they_close() -> None:
    clock = FakeClock(NOW)
    taken = _take(_paced(clock), 3, clock)
    first_open = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert [event.ts for event, _ in taken] == [
        first_open,
        first_open + timedelta(minutes=1),
        first_open + timedelta(minutes=2),
    ]
    # Each bar comes out once its minute is over, not before.
    assert [emitted for _, emitted in taken] == [
        first_open + timedelta(minutes=1),
        first_open + timedelta(minutes=2),
        first_open + timedelta(minutes=3),
    ]


def test_without_bars_or_end_the_market_never_ends() -> None:
    clock = FakeClock(NOW)
    source = _paced(clock)
    assert source.config.unbounded
    count = 2 * SEGMENT_BARS + 10  # across two segment boundaries, past any default length
    bars = [event for event, _ in _take(source, count, clock) if isinstance(event, Bar)]
    assert len(bars) == count
    steps = {b.ts - a.ts for a, b in itertools.pairwise(bars)}
    assert steps == {timedelta(minutes=1)}
    # A new segment continues from the last close: no jump beyond a venue's small offset.
    for boundary in (SEGMENT_BARS, 2 * SEGMENT_BARS):
        before, after = bars[boundary - 1], bars[boundary]
        assert abs(after.open / before.close - 1) < Decimal("0.005")
    assert bars[-1].ts == datetime(2026, 5, 4, 12, 0, tzinfo=UTC) + (count - 1) * timedelta(
        minutes=1
    )


def test_the_first_segment_is_the_unpaced_market_of_the_same_config() -> None:
    clock = FakeClock(NOW)
    start = datetime(2026, 5, 4, 11, 0, tzinfo=UTC)  # an hour ago: those bars come at once
    paced = _paced(clock, start=start.isoformat(), bars=90)
    unpaced = SyntheticMarket.from_config(
        {
            "symbols": ["BTC/USDT"],
            "venues": ["paper"],
            "timeframe": "1m",
            "seed": 7,
            "start": start.isoformat(),
            "bars": 90,
        }
    )

    async def everything(source: SyntheticMarket) -> list[MarketEvent]:
        return [event async for event in source.stream()]

    assert asyncio.run(everything(paced)) == asyncio.run(everything(unpaced))
    assert clock.now == start + timedelta(minutes=90)  # waited only for the bars still to come


def test_funding_rates_keep_coming_in_paced_segments() -> None:
    clock = FakeClock(NOW)
    source = _paced(clock, symbols=["BTC/USDT:USDT"], funding_interval="8h")
    taken = _take(source, SEGMENT_BARS + 2 * 60 * 8 + 10, clock)
    funding = [event for event, _ in taken if isinstance(event, MetricPoint)]
    first = datetime(2026, 5, 4, 16, tzinfo=UTC)
    assert [f.ts for f in funding] == [first + i * timedelta(hours=8) for i in range(5)]
    boundary = datetime(2026, 5, 4, 12, tzinfo=UTC) + SEGMENT_BARS * timedelta(minutes=1)
    assert sum(f.ts >= boundary for f in funding) == 2  # the second segment has its own


def test_history_holds_only_the_bars_whose_time_has_passed() -> None:
    clock = FakeClock(NOW)
    source = _paced(clock)
    asyncio.run(source.start())
    clock.now = NOW + timedelta(minutes=10)
    window = (NOW - timedelta(days=1), NOW + timedelta(days=1))
    history = asyncio.run(source.history("BTC/USDT", *window))
    opened = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    assert [b.ts for b in history] == [opened + timedelta(minutes=i) for i in range(10)]


def test_arrays_refuse_a_paced_market() -> None:
    source = _paced(FakeClock(NOW))
    with pytest.raises(DataSourceError, match="with pace 'wall_clock' bars exist only once"):
        source.arrays("BTC/USDT", "paper")


def test_an_unknown_pace_is_refused_naming_the_choices() -> None:
    with pytest.raises(Exception, match="wall_clock") as caught:
        SyntheticMarket.from_config({"pace": "realtime"})
    assert "pace" in str(caught.value)
