"""The daily trade report passes the SDK's Reporter conformance kit, as a third party's would."""

from __future__ import annotations

from pathlib import Path

import pytest

import crypto_bot_core.builtins.standard_reporters as plugin
from crypto_bot_core.builtins.standard_reporters import DailyTradesReporter
from crypto_bot_sdk import Manifest
from crypto_bot_sdk.testing import ComponentFactory, ReporterConformance


class TestDailyTradesConformance(ReporterConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: DailyTradesReporter.from_config({})
