"""Fixture overrides for the reference components, as a plugin author would write them.

Each mixin goes first in a test class's bases, before the kit's conformance
class, so its fixtures win; a test class for a broken twin overrides only
``component_factory``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from crypto_bot_sdk import API_VERSION, Instrument, Manifest, MarketView, OrderIntent, RiskContext
from crypto_bot_sdk.testing import (
    ComponentFactory,
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
    SyntheticBars,
)
from .exchange import VENUE, MarketDriver, MemoryExchange, leave_partially_filled


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
