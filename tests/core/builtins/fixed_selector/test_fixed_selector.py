"""``fixed-selector``: the SDK's conformance kit, and the registry mapping it stands for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from crypto_bot_core.builtins.fixed_selector import FixedSelector
from crypto_bot_sdk import ConfigError, Manifest, MarketView, PolicyChoice
from crypto_bot_sdk.testing import (
    ComponentFactory,
    PolicySelectorConformance,
    bar_series,
    make_instrument,
    market_view_from,
)

MANIFEST = Path(__file__).resolve().parents[4] / (
    "crypto_bot_core/builtins/fixed_selector/manifest.json"
)
MARKET = market_view_from(bar_series("BTC/USDT", count=30), [make_instrument("BTC/USDT")])
OFFERED = ("trend", "reversion", "blend")  # the engine offers the registry's choice first


class TestFixedSelectorConformance(PolicySelectorConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(MANIFEST)

    @pytest.fixture(params=[{}, {"symbols": {"BTC/USDT": "flat"}, "default": "trend"}])
    def component_factory(self, request: pytest.FixtureRequest) -> ComponentFactory:
        settings = request.param
        return lambda: FixedSelector.from_config(settings)

    @pytest.fixture
    def market_view(self) -> MarketView:
        return MARKET

    @pytest.fixture
    def policies(self) -> Sequence[str]:
        return ("trend", "mean_reversion", "flat")


def test_unconfigured_it_trades_the_registry_choice_the_engine_offers_first() -> None:
    selector = FixedSelector.from_config({})
    assert selector.select("BTC/USDT", None, MARKET, OFFERED) == PolicyChoice("trend", 1.0)
    assert selector.select("ETH/USDT", None, MARKET, ("blend", "trend")).policy == "blend"


def test_settings_override_the_mapping_per_symbol_then_by_default() -> None:
    selector = FixedSelector.from_config(
        {"symbols": {"BTC/USDT": "reversion"}, "default": "blend"}
    )
    assert selector.select("BTC/USDT", None, MARKET, OFFERED).policy == "reversion"
    assert selector.select("ETH/USDT", None, MARKET, OFFERED).policy == "blend"


def test_a_policy_not_on_offer_gives_way_to_the_registry_choice() -> None:
    selector = FixedSelector.from_config({"symbols": {"BTC/USDT": "trnd"}})
    assert selector.select("BTC/USDT", None, MARKET, OFFERED).policy == "trend"


def test_an_answer_is_built_once_per_policy() -> None:
    selector = FixedSelector.from_config({})
    first = selector.select("BTC/USDT", None, MARKET, OFFERED)
    assert selector.select("SOL/USDT", None, MARKET, OFFERED) is first


def test_a_bad_setting_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        FixedSelector.from_config({"default": ""}, key="selector.config")
    assert caught.value.key == "selector.config.default"
