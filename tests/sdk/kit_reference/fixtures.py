"""Fixture overrides for the reference components, as a plugin author would write them.

Each mixin goes first in a test class's bases, before the kit's conformance
class, so its fixtures win; a test class for a broken twin overrides only
``component_factory``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from crypto_bot_sdk import (
    API_VERSION,
    Alert,
    Instrument,
    Manifest,
    MarketView,
    OrderIntent,
    OversightContext,
    RiskContext,
)
from crypto_bot_sdk.testing import (
    ComponentFactory,
    DeliveredAlerts,
    DriveMarket,
    PartialFillScenario,
    StaticRiskContext,
    bar_series,
    make_instrument,
    make_intent,
    market_view_from,
)

from .components import (
    FillsReporter,
    MaxNotionalRule,
    MomentumAgent,
    PrecomputingMomentum,
    SyntheticBars,
)
from .exchange import (
    VENUE,
    MarketDriver,
    MemoryExchange,
    SimulatedMemoryExchange,
    leave_partially_filled,
)
from .learning import INBOX, GreedySelector, InboxNotifier, SpreadWatch


def manifest_for(name: str, kind: str, *capabilities: str) -> Manifest:
    return Manifest.model_validate(
        {
            "name": name,
            "version": "1.0.0",
            "kinds": [kind],
            "api_version": API_VERSION,
            "compatible_core_version": ">=0.1,<0.2",
            "capabilities": list(capabilities),
            "license": "Apache-2.0",
        }
    )


EXCHANGE_CAPABILITIES = (
    "simulated", "partial_fills", "order_book", "fees", "fill_stream", "order.market",
    "order.limit", "order.stop", "order.stop_limit", "order.take_profit",
    "order.take_profit_limit", "post_only", "reduce_only",
)


class ExchangeFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("memory-exchange", "exchange", *EXCHANGE_CAPABILITIES)

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return MemoryExchange.from_config

    @pytest.fixture
    def instrument(self) -> Instrument:
        return make_instrument("BTC/USDT", VENUE)

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.5")

    @pytest.fixture
    def resting_limit_price(self) -> Decimal:
        return Decimal("50")

    @pytest.fixture
    def resting_stop_price(self) -> Decimal:
        return Decimal("150")

    @pytest.fixture
    def drive_market(self) -> DriveMarket:
        return MarketDriver()

    @pytest.fixture
    def partial_fill_scenario(self) -> PartialFillScenario:
        return leave_partially_filled


SIMULATED_CAPABILITIES = (
    "sync_submit", "fills_by_order", "adopt_symbols", "state_snapshot", "settle_funding",
    "sync_matching", "forget_closed",
)


class SimulatedExchangeFixtures(ExchangeFixtures):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for(
            "simulated-memory", "exchange", *EXCHANGE_CAPABILITIES, *SIMULATED_CAPABILITIES
        )

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return SimulatedMemoryExchange.from_config


class AgentFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("momentum", "agent", "deterministic")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return MomentumAgent.from_config

    @pytest.fixture
    def market_view(self) -> MarketView:
        instrument = make_instrument("BTC/USDT", "memory")
        return market_view_from(bar_series("BTC/USDT", "memory", count=60), [instrument])


class PrecomputingAgentFixtures(AgentFixtures):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("momentum-pre", "agent", "deterministic", "precompute", "explain")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return PrecomputingMomentum.from_config


class DataSourceFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("synthetic-bars", "datasource", "history", "deterministic")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return SyntheticBars.from_config


class RiskRuleFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("max-notional", "riskrule")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return MaxNotionalRule.from_config

    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        return [
            make_intent("BTC/USDT", quantity="0.5"),
            make_intent("BTC/USDT", quantity="25"),
            make_intent("ETH/USDT", quantity="1"),
        ]

    @pytest.fixture
    def risk_context(self) -> RiskContext:
        view = market_view_from(bar_series("BTC/USDT", "memory", count=5))
        return StaticRiskContext().with_equity("10000").with_market(view).build()


class ReporterFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("fills-report", "reporter")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return FillsReporter.from_config


class SelectorFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("greedy", "selector", "deterministic")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return GreedySelector.from_config

    @pytest.fixture
    def market_view(self) -> MarketView:
        instrument = make_instrument("BTC/USDT", "memory")
        return market_view_from(bar_series("BTC/USDT", "memory", count=30), [instrument])


def two_venue_view() -> MarketView:
    """BTC/USDT on venues a and b, b about 1% dearer: a spread well beyond taker fees."""
    bars = [
        *bar_series("BTC/USDT", "a", count=5, start_price="100", volatility=0.0),
        *bar_series("BTC/USDT", "b", count=5, start_price="101", volatility=0.0),
    ]
    bars.sort(key=lambda bar: (bar.ts, bar.venue))
    instruments = [make_instrument("BTC/USDT", "a"), make_instrument("BTC/USDT", "b")]
    return market_view_from(bars, instruments)


class OversightFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("spread-watch", "oversight", "deterministic")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return SpreadWatch.from_config

    @pytest.fixture
    def oversight_contexts(self) -> Sequence[OversightContext]:
        view = two_venue_view()
        fees = {"a": "0.001", "b": "0.001"}
        equities = ("10000", "8000", "9500")  # peak 10000: fine, in breach, back
        return [
            StaticRiskContext(ts=view.now + timedelta(minutes=step + 1))
            .with_market(view)
            .with_equity(equity, peak_equity="10000")
            .build_oversight(fees=fees)
            for step, equity in enumerate(equities)
        ]


class NotifierFixtures:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return manifest_for("inbox", "notifier")

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return InboxNotifier.from_config

    @pytest.fixture
    def delivered_alerts(self) -> DeliveredAlerts | None:
        def delivered() -> Sequence[Alert]:
            return list(INBOX)

        return delivered
