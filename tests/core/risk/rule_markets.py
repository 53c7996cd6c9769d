"""Markets and contexts for the risk-engine rule tests (and their conformance runs)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np

from crypto_bot_core.risk.scenario_file import load_scenario
from crypto_bot_core.risk.stressed_market import StressedMarketView
from crypto_bot_sdk import Bar, InMemoryMarketView, MarketView
from crypto_bot_sdk.testing import StaticRiskContext, make_instrument

from .risk_helpers import NOW, bars_from_returns, book, equicorrelated

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
START = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}


def instruments() -> list:  # type: ignore[type-arg]
    return [
        make_instrument(s, "alpha", tick_size="0.01", lot_size="0.001", min_notional="5")
        for s in SYMBOLS
    ]


def returns_market(days: int = 300, seed: int = 7) -> InMemoryMarketView:
    """Daily bars of three correlated coins (3% daily volatility), the last one at NOW."""
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(np.zeros(3), equicorrelated(3, 0.6) * 0.03**2, size=days)
    view = InMemoryMarketView(instruments(), max_bars=1000)
    series = [
        bars_from_returns(s, list(draws[:, i]), start_price=START[s]) for i, s in enumerate(SYMBOLS)
    ]
    for bars in zip(*series, strict=True):
        for bar in bars:
            view.update(bar)
    return view


def depth_book_market() -> InMemoryMarketView:
    """BTC/USDT on alpha with a four-level book each side around 59,995."""
    view = InMemoryMarketView(instruments(), now=NOW)
    view.update(
        book(
            "BTC/USDT",
            "alpha",
            bids=[("59990", "0.5"), ("59980", "1"), ("59970", "2"), ("59940", "4")],
            asks=[("60000", "0.5"), ("60010", "1"), ("60030", "2"), ("60060", "4")],
        )
    )
    return view


def depth_removed(market: MarketView) -> MarketView:
    """The market after the shipped 90% liquidity removal."""
    return StressedMarketView(market, load_scenario("liquidity-removal-90"))


def ranged_bars(range_fraction: float, count: int = 80) -> list[Bar]:
    """Flat BTC bars at 60,000 whose high-low range is ``range_fraction`` of the price."""
    half = Decimal(str(60_000 * range_fraction / 2))
    price = Decimal(60_000)
    return [
        Bar(
            symbol="BTC/USDT",
            venue="alpha",
            ts=NOW - timedelta(hours=count - 1 - i),
            timeframe="1h",
            open=price,
            high=price + half,
            low=price - half,
            close=price,
            volume=Decimal(1),
        )
        for i in range(count)
    ]


def view_of(bars: list[Bar]) -> InMemoryMarketView:
    view = InMemoryMarketView(instruments())
    for bar in bars:
        view.update(bar)
    return view


def arbitrage_market() -> InMemoryMarketView:
    """BTC/USDT cheap on alpha (ask 60,000), dear on beta (bid 60,200)."""
    listed = [
        make_instrument("BTC/USDT", v, tick_size="0.01", lot_size="0.001", min_notional="5")
        for v in ("alpha", "beta")
    ] + [
        make_instrument("BTC/USDT:USDT", v, tick_size="0.01", lot_size="0.001", min_notional="5")
        for v in ("alpha", "beta")
    ]
    view = InMemoryMarketView(listed, now=NOW)
    for symbol in ("BTC/USDT", "BTC/USDT:USDT"):
        view.update(book(symbol, "alpha", bids=[("59990", "1")], asks=[("60000", "0.3")]))
        view.update(book(symbol, "beta", bids=[("60200", "0.4")], asks=[("60210", "1")]))
    return view


def base_context(market: MarketView, *, reference: str | None = "60000") -> StaticRiskContext:
    context = StaticRiskContext().with_equity("100000", peak_equity="100000").with_market(market)
    if reference is not None:
        context = context.with_reference_price(reference)
    return context
