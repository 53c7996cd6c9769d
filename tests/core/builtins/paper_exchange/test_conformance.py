"""The SDK conformance kit run against the paper exchange, as a third-party author would."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import crypto_bot_core.builtins.paper_exchange as paper
from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import (
    Bar,
    BookLevel,
    ExchangeAdapter,
    Instrument,
    InstrumentKind,
    Manifest,
    OrderBook,
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

from .helpers import PERP, at

SETTINGS: dict[str, Any] = {
    "venue": "paper-kit",
    "max_participation": "0.1",
    "instruments": [{"symbol": PERP, "tick_size": "0.1", "lot_size": "0.001"}],
}


def _price_bar(minute: int, volume: str) -> Bar:
    return Bar(symbol=PERP, venue="data", ts=at(minute), open=Decimal(100), high=Decimal(101),
               low=Decimal(99), close=Decimal(100), volume=Decimal(volume))


async def _drive(adapter: ExchangeAdapter[Any], instrument: Instrument) -> None:
    """One bar around 100 (volume 100, so 10 may trade), then a book around it."""
    assert isinstance(adapter, PaperExchange)
    minute = max(0, int((adapter.now - at(0)).total_seconds() // 60))  # continue the venue's time
    await adapter.on_market_event(_price_bar(minute, "100"))
    await adapter.on_market_event(
        OrderBook(
            symbol=instrument.symbol,
            venue="data",
            ts=at(minute + 1),
            bids=(BookLevel(price=Decimal("99.9"), amount=Decimal(3)),),
            asks=(BookLevel(price=Decimal("100.1"), amount=Decimal(3)),),
        )
    )


async def _partial(adapter: ExchangeAdapter[Any], instrument: Instrument) -> str:
    """A market order of 25 against a bar of which 10% (10) may be taken."""
    request = OrderRequest(client_order_id="kit-partial", venue=instrument.venue,
                           symbol=instrument.symbol, side=Side.BUY,
                           order_type=OrderType.MARKET, quantity=Decimal(25))
    await adapter.submit_order(request)
    await adapter.on_market_event(_price_bar(0, "100"))
    return request.client_order_id


class TestPaperExchangeConformance(ExchangeAdapterConformance):
    @pytest.fixture
    def manifest(self) -> Manifest:
        return Manifest.from_path(Path(paper.__file__).with_name("manifest.json"))

    @pytest.fixture
    def component_factory(self) -> ComponentFactory:
        return lambda: PaperExchange.from_config(SETTINGS)

    @pytest.fixture
    def instrument(self) -> Instrument:
        return Instrument(symbol=PERP, venue="paper-kit", kind=InstrumentKind.PERPETUAL,
                          tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))

    @pytest.fixture
    def order_quantity(self) -> Decimal:
        return Decimal("0.5")

    @pytest.fixture
    def resting_limit_price(self) -> Decimal:
        return Decimal(90)

    @pytest.fixture
    def resting_stop_price(self) -> Decimal:
        return Decimal(110)

    @pytest.fixture
    def drive_market(self) -> DriveMarket:
        return _drive

    @pytest.fixture
    def partial_fill_scenario(self) -> PartialFillScenario:
        return _partial
