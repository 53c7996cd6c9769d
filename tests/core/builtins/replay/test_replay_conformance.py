"""The replay source passes the SDK's DataSource conformance kit, as a third party would."""

from __future__ import annotations

from pathlib import Path

import pytest

import crypto_bot_core.builtins.replay as plugin
from crypto_bot_core.builtins.replay import ReplaySource
from crypto_bot_sdk import Manifest
from crypto_bot_sdk.testing import ComponentFactory, DataSourceConformance

T0 = 1_704_067_200_000


class TestReplayConformance(DataSourceConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(plugin.__file__).with_name("manifest.json"))

    @pytest.fixture
    def component_factory(self, tmp_path: Path) -> ComponentFactory:
        bars = tmp_path / "btc-1m.csv"
        rows = ["timestamp,open,high,low,close,volume"]
        price = 42000
        for i in range(120):
            close = price + (7 * i) % 23 - 11
            rows.append(
                f"{T0 + i * 60_000},{price},{max(price, close) + 5},"
                f"{min(price, close) - 5},{close},{1 + i % 5}.25"
            )
            price = close
        bars.write_text("\n".join(rows) + "\n")
        trades = tmp_path / "eth-trades.csv"
        trades.write_text(
            "timestamp,id,side,price,amount\n"
            + "".join(
                f"{T0 + i * 15_000},{1000 + i},{'buy' if i % 3 else 'sell'},"
                f"{2300 + i % 7}.5,0.{i % 9 + 1}\n"
                for i in range(200)
            )
        )
        files = [
            {"path": str(bars), "symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"},
            {"path": str(trades), "symbol": "ETH/USDT", "venue": "okx", "kind": "trades"},
        ]
        return lambda: ReplaySource.from_config({"files": files})
