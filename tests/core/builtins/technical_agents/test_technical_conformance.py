"""The technical agents pass the SDK's Agent conformance kit, as a third party's would."""

from __future__ import annotations

from pathlib import Path

import pytest

import crypto_bot_core.builtins.technical_agents as plugin
from crypto_bot_core.builtins.technical_agents import (
    EmaCrossoverAgent,
    MomentumBreakoutAgent,
    RsiMeanReversionAgent,
)
from crypto_bot_sdk import Manifest, MarketView
from crypto_bot_sdk.testing import (
    AgentConformance,
    ComponentFactory,
    bar_series,
    make_instrument,
    market_view_from,
)


class _TechnicalAgent(AgentConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def market_view(self) -> MarketView:
        return market_view_from(bar_series("BTC/USDT", count=300, seed=4), [make_instrument()])


class TestEmaCrossoverConformance(_TechnicalAgent):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: EmaCrossoverAgent.from_config({"fast": 10, "slow": 20})


class TestRsiMeanReversionConformance(_TechnicalAgent):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: RsiMeanReversionAgent.from_config({})


class TestMomentumBreakoutConformance(_TechnicalAgent):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MomentumBreakoutAgent.from_config({"lookback": 30})
