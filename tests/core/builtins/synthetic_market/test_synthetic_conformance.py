"""The synthetic market passes the SDK's DataSource conformance kit, as a third party would."""

from __future__ import annotations

from pathlib import Path

import pytest

import crypto_bot_core.builtins.synthetic_market as plugin
from crypto_bot_core.builtins.synthetic_market import SyntheticMarket
from crypto_bot_sdk import Manifest
from crypto_bot_sdk.testing import ComponentFactory, DataSourceConformance


class TestSyntheticMarketConformance(DataSourceConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: SyntheticMarket.from_config(
            {
                "symbols": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"],
                "venues": ["binance", "okx"],
                "bars": 300,
                "seed": 11,
            }
        )
