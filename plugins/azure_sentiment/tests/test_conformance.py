"""The SDK's conformance kit on the sentiment agent, backed by the loopback fakes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import cryptobot_azure_sentiment
from crypto_bot_sdk import InMemoryMarketView, Manifest, MarketView
from crypto_bot_sdk.testing import AgentConformance, ComponentFactory, make_instrument
from cryptobot_azure_sentiment import AzureSentimentAgent

from .support import NOW


class TestSentimentAgentConformance(AgentConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        path = Path(cryptobot_azure_sentiment.__file__).with_name("manifest.json")
        return Manifest.from_path(path)

    @pytest.fixture
    def component_factory(
        self, make_agent: Callable[..., AzureSentimentAgent]
    ) -> ComponentFactory:
        return make_agent

    @pytest.fixture
    def market_view(self) -> MarketView:
        return InMemoryMarketView([make_instrument("BTC/USDT")], now=NOW)
