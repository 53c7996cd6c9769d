"""Turning the event stream into ticks: blocks read ahead in a backtest, ticks as they
arrive live.

A tick is the events of one timestamp. A backtest may read ahead; a live run must
decide a tick as soon as no more of its events are ready, not when the next bar
comes, and must never leave a source's pending read dangling when the run stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crypto_bot_core.engine.ticks import read_ahead, ticks_as_they_arrive
from crypto_bot_sdk import Bar, MarketEvent

T0 = datetime(2024, 4, 1, tzinfo=UTC)


def _bar(symbol: str, minute: int) -> Bar:
    return Bar(
        symbol=symbol,
        venue="alpha",
        ts=T0 + timedelta(minutes=minute),
        open=Decimal(1),
        high=Decimal(1),
        low=Decimal(1),
        close=Decimal(1),
        volume=Decimal(1),
    )


async def _stream(events: Sequence[MarketEvent]) -> AsyncIterator[MarketEvent]:
    for event in events:
        yield event


def _shape(blocks: list[list[list[MarketEvent]]]) -> list[list[list[str]]]:
    """Each event as SYMBOL@minute, kept in its tick and block."""
    return [
        [[f"{e.symbol[:3]}@{int((e.ts - T0).total_seconds() // 60)}" for e in tick] for tick in b]
        for b in blocks
    ]


def test_read_ahead_groups_events_by_timestamp_into_blocks_of_ticks() -> None:
    events = [_bar("BTC/USDT", 0), _bar("ETH/USDT", 0), _bar("BTC/USDT", 1), _bar("BTC/USDT", 2)]

    async def blocks() -> list[list[list[MarketEvent]]]:
        return [block async for block in read_ahead(_stream(events), 2)]

    assert _shape(asyncio.run(blocks())) == [
        [["BTC@0", "ETH@0"], ["BTC@1"]],
        [["BTC@2"]],
    ]


def test_an_empty_stream_is_no_tick_read_ahead_or_live() -> None:
    async def both() -> tuple[list[object], list[object]]:
        ahead = [block async for block in read_ahead(_stream([]), 4)]
        live = [block async for block in ticks_as_they_arrive(_stream([]), 0.0)]
        return ahead, live

    assert asyncio.run(both()) == ([], [])


def test_a_live_tick_is_decided_when_nothing_more_of_it_is_ready() -> None:
    next_bar = asyncio.Event()

    async def live_feed() -> AsyncIterator[MarketEvent]:
        yield _bar("BTC/USDT", 0)
        yield _bar("ETH/USDT", 0)
        await next_bar.wait()  # the feed is quiet until the next minute's bar
        yield _bar("BTC/USDT", 1)

    async def run() -> list[list[list[MarketEvent]]]:
        ticks: list[list[list[MarketEvent]]] = []
        async for block in ticks_as_they_arrive(live_feed(), 0.001):
            ticks.append(block)
            next_bar.set()  # the next bar arrives only once the first tick was decided
        return ticks

    assert _shape(asyncio.run(run())) == [[["BTC@0", "ETH@0"]], [["BTC@1"]]]


def test_stopping_the_live_ticks_cancels_the_read_still_waiting_on_the_source() -> None:
    outcome: list[str] = []

    async def endless_feed() -> AsyncIterator[MarketEvent]:
        yield _bar("BTC/USDT", 0)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("read cancelled")
            raise
        yield _bar("BTC/USDT", 1)  # never reached

    async def run() -> list[list[list[MarketEvent]]]:
        ticks = ticks_as_they_arrive(endless_feed(), 0.0)
        first = await anext(ticks)
        await ticks.aclose()  # the run stops while the source has nothing to say
        return [first]

    assert _shape(asyncio.run(run())) == [[["BTC@0"]]]
    assert outcome == ["read cancelled"]


def test_an_in_process_source_gives_one_live_tick_per_timestamp() -> None:
    events = [_bar("BTC/USDT", 0), _bar("ETH/USDT", 0), _bar("BTC/USDT", 1)]

    async def run() -> list[list[list[MarketEvent]]]:
        return [block async for block in ticks_as_they_arrive(_stream(events), 0.0)]

    assert _shape(asyncio.run(run())) == [[["BTC@0", "ETH@0"]], [["BTC@1"]]]
