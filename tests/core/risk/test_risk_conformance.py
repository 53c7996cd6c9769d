"""The risk-engine rules pass the SDK's RiskRule conformance kit, as a third party's would."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import crypto_bot_core.builtins.risk_engine as plugin
from crypto_bot_core.builtins.risk_engine import (
    ArbitrageGuard,
    DynamicMargin,
    LiquidityGuard,
    PortfolioVar,
    StressLimit,
)
from crypto_bot_sdk import Manifest, OrderIntent, OrderType, RiskContext, Side
from crypto_bot_sdk.testing import ComponentFactory, RiskRuleConformance, make_intent

from .rule_markets import (
    arbitrage_market,
    base_context,
    depth_book_market,
    ranged_bars,
    returns_market,
    view_of,
)


def on_alpha(symbol: str, side: Side, quantity: str, **extra: object) -> OrderIntent:
    return make_intent(symbol, side, quantity, venue="alpha", **extra)  # type: ignore[arg-type]


class _RiskEngineRule(RiskRuleConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def risk_context(self) -> RiskContext:
        return base_context(depth_book_market()).with_position("BTC/USDT", "0.5", "60000").build()

    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        return [
            on_alpha("BTC/USDT", Side.BUY, "0.05"),
            on_alpha("BTC/USDT", Side.BUY, "2"),
            on_alpha("BTC/USDT", Side.SELL, "0.2"),
            on_alpha("BTC/USDT", Side.BUY, "0.1", order_type=OrderType.LIMIT, price="59000"),
        ]


class TestPortfolioVarConformance(_RiskEngineRule):
    @pytest.fixture
    def risk_context(self) -> RiskContext:
        market = returns_market()
        return (
            base_context(market, reference=None).with_position("BTC/USDT", "0.5", "60000").build()
        )

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: PortfolioVar.from_config({"budget": "2500", "paths": 5000})


class TestStressLimitConformance(_RiskEngineRule):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: StressLimit.from_config(
            {"scenarios": ["market-crash-30", "exchange-outage"], "max_loss": "10000"}
        )


class TestLiquidityGuardConformance(_RiskEngineRule):
    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        return [
            on_alpha("BTC/USDT", Side.BUY, "2"),
            on_alpha("BTC/USDT", Side.BUY, "10"),
            on_alpha("BTC/USDT", Side.SELL, "7.5"),
            on_alpha("BTC/USDT", Side.BUY, "1", order_type=OrderType.LIMIT, price="59000"),
        ]

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: LiquidityGuard.from_config({"max_slippage_bps": "5"})


class TestDynamicMarginConformance(_RiskEngineRule):
    @pytest.fixture
    def risk_context(self) -> RiskContext:
        return base_context(view_of(ranged_bars(0.04))).build()

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: DynamicMargin.from_config({"base_notional": "10000", "target_atr": "0.02"})


class TestArbitrageGuardConformance(_RiskEngineRule):
    @pytest.fixture
    def risk_context(self) -> RiskContext:
        return base_context(arbitrage_market(), reference=None).build()

    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        def leg(side: Side, venue: str, quantity: str, price: str) -> OrderIntent:
            return make_intent(
                "BTC/USDT", side, quantity, order_type=OrderType.LIMIT, price=price, venue=venue
            ).model_copy(update={"policy": "arbitrage"})

        return [
            leg(Side.BUY, "alpha", "0.2", "60000"),
            leg(Side.SELL, "beta", "0.2", "60200"),
            leg(Side.BUY, "alpha", "1", "60000"),
            on_alpha("BTC/USDT", Side.BUY, "1", order_type=OrderType.LIMIT, price="60000"),
        ]

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: ArbitrageGuard.from_config(
            {"max_leg_notional": "15000", "max_net_notional": "20000", "min_edge_bps": "5"}
        )
