"""The compliance reporters pass the SDK's Reporter conformance kit, as a third party's would."""

from __future__ import annotations

from pathlib import Path

import pytest

import crypto_bot_core.builtins.standard_reporters as plugin
from crypto_bot_core.builtins.standard_reporters import (
    BestExecutionReporter,
    MifirTransactionReporter,
    VenueSummaryReporter,
)
from crypto_bot_sdk import Manifest
from crypto_bot_sdk.testing import ComponentFactory, ReporterConformance


class _Manifest:
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))


class TestBestExecutionConformance(_Manifest, ReporterConformance):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: BestExecutionReporter.from_config({})


class TestVenueSummaryConformance(_Manifest, ReporterConformance):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: VenueSummaryReporter.from_config({"top_venues": 3})


class TestMifirConformance(_Manifest, ReporterConformance):
    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: MifirTransactionReporter.from_config(
            {
                "executing_entity_lei": "506700GE1G29325QX363",
                "competent_authority": "DE",
                "instruments": {"BTC/USDT": {"isin": "DE000BAY0017", "price_currency": "EUR"}},
            }
        )
