"""The SDK's conformance kit on the ``tvl`` source, served by the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cryptobot_defi_tvl
from crypto_bot_sdk import Manifest
from crypto_bot_sdk.testing import ComponentFactory, DataSourceConformance, StreamWindow
from cryptobot_defi_tvl import DefiTvlSource

from .fake_llama import FakeLlama, day, serve_defaults


class TestDefiTvlConformance(DataSourceConformance):
    @pytest.fixture
    def fake(self) -> Iterator[FakeLlama]:
        fake = FakeLlama().start()
        serve_defaults(fake)
        try:
            yield fake
        finally:
            fake.stop()

    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(cryptobot_defi_tvl.__file__).with_name("manifest.json"))

    @pytest.fixture
    def component_factory(self, fake: FakeLlama) -> ComponentFactory:
        config = {
            "protocols": ["aave"], "chains": ["Ethereum"], "protocol_chains": ["Ethereum"],
            "symbols": {"aave": "AAVE/USDT", "Ethereum": "ETH/USDT"}, "base_url": fake.url,
        }  # fmt: skip
        return lambda: DefiTvlSource.from_config(config)

    @pytest.fixture
    def stream_window(self) -> StreamWindow:
        return (day(0), day(8))
