"""The standard risk rules pass the SDK's RiskRule conformance kit, as a third party's would."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

import crypto_bot_core.builtins.standard_risk as plugin
from crypto_bot_core.builtins.standard_risk import (
    MaxDrawdown,
    MaxGrossExposure,
    MaxOrderNotional,
    MaxPosition,
    PriceBand,
)
from crypto_bot_sdk import InMemoryMarketView, Manifest, OrderIntent, OrderType, RiskContext, Side
from crypto_bot_sdk.testing import (
    FIXED_NOW,
    ComponentFactory,
    RiskRuleConformance,
    StaticRiskContext,
    make_instrument,
    make_intent,
)

BASE = (
    StaticRiskContext()
    .with_equity("100000", peak_equity="100000")
    .with_position("BTC/USDT", "0.5", "58000", mark_price="60000")
    .with_reference_price("60000")
    .with_market(InMemoryMarketView([make_instrument(lot_size="0.0001")], now=FIXED_NOW))
)


class _StandardRule(RiskRuleConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def risk_context(self) -> RiskContext:
        return BASE.build()

    @pytest.fixture
    def intents(self) -> Sequence[OrderIntent]:
        return [
            make_intent("BTC/USDT", Side.BUY, "0.1"),
            make_intent("BTC/USDT", Side.BUY, "2"),
            make_intent("BTC/USDT", Side.SELL, "0.2"),
            make_intent("BTC/USDT", Side.SELL, "1", reduce_only=True),
            make_intent("BTC/USDT", Side.BUY, "0.1", order_type=OrderType.LIMIT, price="70000"),
        ]


class TestMaxOrderNotionalConformance(_StandardRule):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MaxOrderNotional.from_config({"limit": "50000"})


class TestMaxPositionConformance(_StandardRule):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MaxPosition.from_config({"max_quantity": {"BTC/USDT": "1"}})


class TestMaxGrossExposureConformance(_StandardRule):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MaxGrossExposure.from_config({"max_leverage": "1"})


class TestMaxDrawdownConformance(_StandardRule):
    @pytest.fixture
    def risk_context(self) -> RiskContext:
        return BASE.with_equity("70000", peak_equity=Decimal("100000")).build()

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MaxDrawdown.from_config({"max_drawdown": "0.25"})


class TestPriceBandConformance(_StandardRule):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: PriceBand.from_config({"max_deviation_bps": "300"})
