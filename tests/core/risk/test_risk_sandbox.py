"""The scenario's market: the stressed view (sandbox) and the shocked data source (replay)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crypto_bot_core.app.risk_replay import ShockedSource
from crypto_bot_core.risk.scenario_file import parse_scenario
from crypto_bot_core.risk.stressed_market import StressedMarketView
from crypto_bot_sdk import Bar, DataSource, Instrument, MarketEvent, PluginConfig

from .risk_helpers import NOW, bars_from_returns, book
from .rule_markets import depth_book_market

SCENARIO = parse_scenario(
    "name: sandbox\nshocks:\n"
    "  - price: {move: -0.2, assets: [BTC]}\n"
    "  - liquidity: {remove: 0.5, symbols: '*', venues: [alpha]}\n"
    "  - exchange_halt: {venue: gamma, duration: PT2H}\n"
    "  - ban: {assets: [XRP], venues: [beta]}\n"
)


def test_the_stressed_view_moves_prices_thins_books_and_closes_venues() -> None:
    market = depth_book_market()
    market.update(book("XRP/USDT", "beta", bids=[("0.59", "1000")], asks=[("0.61", "1000")]))
    view = StressedMarketView(market, SCENARIO)
    assert view.last_price("BTC/USDT") == market.last_price("BTC/USDT") * Decimal("0.8")  # type: ignore[operator]
    thin = view.order_book("BTC/USDT", "alpha")
    assert thin is not None
    assert (thin.asks[0].price, thin.asks[0].amount) == (Decimal("48000.0"), Decimal("0.25"))
    assert view.order_book("XRP/USDT", "beta") is None  # banned there
    assert view.last_price("XRP/USDT", "beta") is None
    assert view.last_price("BTC/USDT", "gamma") is None  # halted venue
    assert view.now == market.now


class ListSource(DataSource[PluginConfig]):
    name = "list"

    def __init__(self, events: Sequence[MarketEvent]) -> None:
        super().__init__(PluginConfig())
        self.events = list(events)

    def instruments(self) -> Sequence[Instrument]:
        return ()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for event in self.events:
            yield event


def replayed(source: DataSource[PluginConfig]) -> list[MarketEvent]:
    async def collect() -> list[MarketEvent]:
        return [event async for event in source.stream()]

    return asyncio.run(collect())


def hourly(symbol: str, venue: str) -> list[Bar]:
    return bars_from_returns(
        symbol,
        [0.0] * 5,
        start_price=100.0,
        venue=venue,
        timeframe="1h",
        step=timedelta(hours=1),
        end=NOW,
    )


def test_the_shocked_source_rewrites_the_stream_from_the_shock_time_on() -> None:
    at = NOW - timedelta(hours=2)
    events: list[MarketEvent] = sorted(
        [*hourly("BTC/USDT", "alpha"), *hourly("BTC/USDT", "gamma"), *hourly("XRP/USDT", "beta")],
        key=lambda e: e.ts,
    )
    shocked = ShockedSource(
        ListSource(events), SCENARIO, at, halted={"gamma": at + timedelta(hours=2)}
    )
    out = replayed(shocked)
    kept = {(e.symbol, e.venue, e.ts) for e in out if isinstance(e, Bar)}
    # gamma is halted for [at, at + 2h): its bars at at and at + 1h vanish, at + 2h is back.
    assert ("BTC/USDT", "gamma", at) not in kept
    assert ("BTC/USDT", "gamma", at + timedelta(hours=1)) not in kept
    assert ("BTC/USDT", "gamma", NOW) in kept
    # XRP is banned on beta from `at` on.
    assert max(e.ts for e in out if isinstance(e, Bar) and e.symbol == "XRP/USDT") < at
    alpha = [e for e in out if isinstance(e, Bar) and e.venue == "alpha"]
    before = [b for b in alpha if b.ts < at]
    after = [b for b in alpha if b.ts >= at]
    assert {b.close for b in before} == {Decimal("100.00000000")}
    assert {b.close for b in after} == {Decimal("80.000000000")}  # -20% from `at` on
    assert {b.volume for b in after} == {Decimal("0.5")}  # half the depth (volume) removed


def test_a_volatility_shock_scales_moves_around_the_anchor() -> None:
    scenario = parse_scenario("name: v\nshocks:\n  - volatility: {multiplier: 2, symbols: '*'}\n")
    bars = bars_from_returns(
        "BTC/USDT",
        [0.0, 0.0, 0.1],
        start_price=100.0,
        timeframe="1h",
        step=timedelta(hours=1),
        end=NOW,
    )
    out = replayed(ShockedSource(ListSource(bars), scenario, NOW - timedelta(hours=1), {}))
    closes = [float(e.close) for e in out if isinstance(e, Bar)]
    # Anchor 100 (last close before the shock); 110 becomes 100 x 1.1^2 = 121.
    assert closes == pytest.approx([100.0, 100.0, 100.0, 121.0])
