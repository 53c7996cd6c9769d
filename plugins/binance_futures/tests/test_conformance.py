"""The SDK's ExchangeAdapter conformance kit, run against the fake Binance server."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import cryptobot_binance_futures
from crypto_bot_sdk import (
    ExchangeAdapter,
    Instrument,
    InstrumentKind,
    Manifest,
    OrderRequest,
    OrderType,
    Side,
)
from crypto_bot_sdk.testing import (
    ComponentFactory,
    DriveMarket,
    ExchangeAdapterConformance,
    PartialFillScenario,
)
from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.fake_binance import FakeBinanceServer

MANIFEST = Path(cryptobot_binance_futures.__file__).with_name("manifest.json")


class TestBinanceFuturesConformance(ExchangeAdapterConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(MANIFEST)

    @pytest.fixture
    def component_factory(self, adapter_config: dict[str, Any]) -> ComponentFactory:
        return lambda: BinanceFuturesExchange.from_config(adapter_config)

    @pytest.fixture
    def instrument(self) -> Instrument:
        return Instrument(
            symbol="BTC/USDT:USDT", venue="binance-futures", kind=InstrumentKind.PERPETUAL,
            tick_size=Decimal("0.1"), lot_size=Decimal("0.001"), min_notional=Decimal("100"),
        )  # fmt: skip

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.010")

    @pytest.fixture
    def resting_limit_price(self) -> Decimal:
        return Decimal("50000.0")

    @pytest.fixture
    def resting_stop_price(self) -> Decimal:
        return Decimal("70000.0")

    @pytest.fixture
    def drive_market(self, fake: FakeBinanceServer) -> DriveMarket:
        async def trade(adapter: ExchangeAdapter[Any], instrument: Instrument) -> None:
            # Someone else trades at the current mid: time moves on, the price does not.
            await fake.aexternal_trade("BTCUSDT", Decimal("60000.0"), Decimal("0.001"))

        return trade

    @pytest.fixture
    def partial_fill_scenario(self, fake: FakeBinanceServer) -> PartialFillScenario:
        async def scenario(adapter: ExchangeAdapter[Any], instrument: Instrument) -> str:
            request = OrderRequest(
                client_order_id="partial-1", venue=instrument.venue, symbol=instrument.symbol,
                side=Side.BUY, order_type=OrderType.LIMIT, quantity=Decimal("0.010"),
                price=Decimal("59990.0"),
            )  # fmt: skip
            await adapter.submit_order(request)
            # A seller takes 0.004 of the 0.010 resting at 59990.
            await fake.aexternal_trade("BTCUSDT", Decimal("59990.0"), Decimal("0.004"))
            return request.client_order_id

        return scenario
