"""Components for config resolution tests: an agent with settings and two kinds of venue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from crypto_bot_sdk import (
    Agent,
    Balance,
    DataSource,
    ExchangeAdapter,
    ExchangeUnavailableError,
    Fill,
    Instrument,
    MarketEvent,
    MarketView,
    Order,
    OrderRequest,
    PluginConfig,
    Signal,
    hookimpl,
)


class TrendSettings(PluginConfig):
    fast: int = Field(default=10, gt=0)
    slow: int = Field(default=20, gt=0)


class TrendAgent(Agent[TrendSettings]):
    name = "trend"
    config_model = TrendSettings

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return None


class SilentSource(DataSource[PluginConfig]):
    name = "silent"

    def instruments(self) -> Sequence[Instrument]:
        return ()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        events: tuple[MarketEvent, ...] = ()
        for event in events:
            yield event


class VenueSettings(PluginConfig):
    taker_fee: Decimal = Decimal("0.001")


class OfflineVenue(ExchangeAdapter[VenueSettings]):
    """A real-venue adapter whose venue is unreachable: every call says so."""

    name = "offline"
    config_model = VenueSettings

    @property
    def venue(self) -> str:
        return "offline"

    def _down(self) -> ExchangeUnavailableError:
        return ExchangeUnavailableError("the test venue is offline", venue=self.venue)

    async def load_instruments(self) -> Sequence[Instrument]:
        raise self._down()

    async def submit_order(self, request: OrderRequest) -> Order:
        raise self._down()

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        raise self._down()

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        raise self._down()

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        raise self._down()

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        raise self._down()

    async def fetch_balances(self) -> Sequence[Balance]:
        raise self._down()


class SimulatedVenue(OfflineVenue):
    name = "simulated"

    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        return ()


def manifest(name: str, kinds: Sequence[str], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "version": "2.0.0",
        "kinds": list(kinds),
        "api_version": "1.0.0",
        "compatible_core_version": ">=0.1,<0.2",
        "license": "MIT",
    }
    data.update(extra)
    return data


class Provides:
    def __init__(self, *components: type) -> None:
        self._components = list(components)

    @hookimpl
    def cryptobot_components(self) -> list[type]:
        return self._components
