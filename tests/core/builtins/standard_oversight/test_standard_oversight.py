"""``standard-oversight``: the SDK's conformance kit on the risk monitor and the arbitrage
guard, their schedule and their evidence."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from crypto_bot_core.builtins.standard_oversight import ArbitragePairs, RiskMonitorWatch
from crypto_bot_sdk import (
    AlertSeverity,
    ConfigError,
    InMemoryMarketView,
    Manifest,
    OversightContext,
    Side,
)
from crypto_bot_sdk.testing import (
    ComponentFactory,
    OversightConformance,
    StaticRiskContext,
    bar_series,
    make_instrument,
    market_view_from,
)

MANIFEST = Path(__file__).resolve().parents[4] / (
    "crypto_bot_core/builtins/standard_oversight/manifest.json"
)
FEES = {"alpha": "0.0005", "beta": "0.0005"}
MONITOR = {"var_limit": "50", "lookback": 20, "refit_every": "1m", "var": {"paths": 2000}}
ARBITRAGE = {"threshold_bps": "5", "max_pair_notional": "1000"}
SMALL = "0.01"
"""A position whose VaR is far within the limit (with none there is no VaR to be within)."""


def _market(count: int, beta_price: str = "101") -> InMemoryMarketView:
    """BTC/USDT on two venues, beta quoted above alpha: a spread wider than the fees."""
    alpha = bar_series("BTC/USDT", "alpha", count=count, seed=1)
    beta = bar_series("BTC/USDT", "beta", count=count, seed=1, start_price=beta_price)
    instruments = [make_instrument("BTC/USDT", "alpha"), make_instrument("BTC/USDT", "beta")]
    return market_view_from(sorted(alpha + beta, key=lambda bar: bar.ts), instruments)


def _context(count: int, *, held: str = "5", beta_price: str = "101") -> OversightContext:
    view = _market(count, beta_price)
    mark = view.last_price("BTC/USDT", "beta")
    book = StaticRiskContext().with_market(view)
    if held != "0":
        book = book.with_position("BTC/USDT", held, "100", venue="beta", mark_price=str(mark))
    return dataclasses.replace(book, ts=view.now).build_oversight(fees=FEES)


class TestRiskMonitorConformance(OversightConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(MANIFEST)

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: RiskMonitorWatch.from_config({**MONITOR, "every": 60})

    @pytest.fixture
    def oversight_contexts(self) -> Sequence[OversightContext]:
        return [_context(40, held=SMALL), _context(50), _context(60, held=SMALL)]


class TestArbitrageConformance(OversightConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(MANIFEST)

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: ArbitragePairs.from_config(ARBITRAGE)

    @pytest.fixture
    def oversight_contexts(self) -> Sequence[OversightContext]:
        return [_context(40, beta_price="100"), _context(60)]


def test_the_monitor_alerts_once_per_crossing_and_when_back() -> None:
    monitor = RiskMonitorWatch.from_config({**MONITOR, "every": 60})
    crossed = asyncio.run(monitor.review(_context(50)))
    assert [(a.severity, a.figures["metric"]) for a in crossed.alerts] == [
        (AlertSeverity.HIGH, "var")
    ]
    assert crossed.alerts[0].source == "risk_monitor"
    assert not asyncio.run(monitor.review(_context(51)))  # still in breach: nothing new
    back = asyncio.run(monitor.review(_context(52, held=SMALL)))
    assert [a.severity for a in back.alerts] == [AlertSeverity.INFO]


def test_the_monitor_checks_only_every_so_often() -> None:
    monitor = RiskMonitorWatch.from_config({**MONITOR, "every": "PT10M"})
    assert asyncio.run(monitor.review(_context(50))).alerts  # first check, in breach
    assert not asyncio.run(monitor.review(_context(51, held=SMALL)))  # a minute on: unchecked
    back = asyncio.run(monitor.review(_context(60, held=SMALL))).alerts  # ten minutes on
    assert [a.severity for a in back] == [AlertSeverity.INFO]


def test_arbitrage_pairs_carry_their_evidence() -> None:
    outcome = asyncio.run(ArbitragePairs.from_config(ARBITRAGE).review(_context(60)))
    (pair,) = outcome.pairs
    buy, sell = pair.legs
    assert (buy.side, buy.venue, sell.side, sell.venue) == (Side.BUY, "alpha", Side.SELL, "beta")
    assert buy.quantity == sell.quantity
    assert set(pair.evidence) == {
        "symbol", "spread_bps", "fees_bps", "edge_bps", "buy_venue", "sell_venue"
    }
    assert Decimal(pair.evidence["fees_bps"]) == Decimal(10)  # both taker fees, from the context
    assert Decimal(pair.evidence["edge_bps"]) >= Decimal(5)


def test_settings_are_checked_with_their_key() -> None:
    with pytest.raises(ConfigError) as caught:
        RiskMonitorWatch.from_config({"every": 0}, key="oversight[0].config")
    assert caught.value.key == "oversight[0].config.every"
    with pytest.raises(ConfigError) as missing:
        ArbitragePairs.from_config({}, key="oversight[1].config")
    assert missing.value.key == "oversight[1].config.max_pair_notional"
    assert timedelta(hours=1) == RiskMonitorWatch.from_config({}).config.every
