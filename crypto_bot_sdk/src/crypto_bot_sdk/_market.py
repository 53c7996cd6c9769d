"""Market data models: instruments and the events a DataSource emits.

Symbols follow ccxt's unified convention (``BTC/USDT`` for spot,
``BTC/USDT:USDT`` for a USDT-settled perpetual) so exchange plugins built on
ccxt pass them through unchanged.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from crypto_bot_sdk._base import (
    FrozenModel,
    NonNegativeMoney,
    PositiveMoney,
    UtcDatetime,
)

_SYMBOL = re.compile(
    r"^(?P<base>[A-Z0-9][A-Z0-9._-]*)/(?P<quote>[A-Z0-9][A-Z0-9._-]*)"
    r"(?::(?P<settle>[A-Z0-9][A-Z0-9._-]*))?$"
)


class InstrumentKind(StrEnum):
    SPOT = "spot"
    PERPETUAL = "perpetual"


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


def parse_symbol(symbol: str) -> tuple[str, str, str | None]:
    """Split a ccxt unified symbol into (base, quote, settle); raise ``ValueError`` if malformed."""
    match = _SYMBOL.match(symbol)
    if match is None:
        raise ValueError(
            f"symbol {symbol!r} is not a ccxt unified symbol; write BASE/QUOTE for spot "
            "or BASE/QUOTE:SETTLE for a perpetual, upper case (e.g. 'BTC/USDT:USDT')"
        )
    return match["base"], match["quote"], match["settle"]


class Instrument(FrozenModel):
    """A tradable market on one venue, with the increments its orders must respect."""

    symbol: str
    venue: str = Field(min_length=1)
    kind: InstrumentKind
    tick_size: PositiveMoney
    lot_size: PositiveMoney
    min_notional: NonNegativeMoney = Decimal(0)
    contract_size: PositiveMoney = Decimal(1)

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        parse_symbol(value)
        return value

    @model_validator(mode="after")
    def _kind_matches_symbol(self) -> Instrument:
        settle = parse_symbol(self.symbol)[2]
        if self.kind is InstrumentKind.PERPETUAL and settle is None:
            raise ValueError(
                f"perpetual {self.symbol!r} needs a settlement currency: write it as "
                f"'{self.symbol}:{self.quote}'"
            )
        if self.kind is InstrumentKind.SPOT and settle is not None:
            raise ValueError(
                f"spot instrument {self.symbol!r} must not carry ':{settle}'; "
                "use kind 'perpetual' or drop the settlement currency"
            )
        return self

    @property
    def base(self) -> str:
        return parse_symbol(self.symbol)[0]

    @property
    def quote(self) -> str:
        return parse_symbol(self.symbol)[1]

    @property
    def settle(self) -> str:
        """The currency P&L settles in: the quote for spot, the settle currency for perpetuals."""
        return parse_symbol(self.symbol)[2] or self.quote

    def round_price(self, price: Decimal) -> Decimal:
        """The nearest valid price (ties to even) on this instrument's tick grid."""
        steps = (price / self.tick_size).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return steps * self.tick_size

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """The largest valid quantity not above ``quantity``: sizing never rounds up."""
        steps = (quantity / self.lot_size).quantize(Decimal(1), rounding=ROUND_DOWN)
        return steps * self.lot_size

    def is_price_on_tick(self, price: Decimal) -> bool:
        return price % self.tick_size == 0

    def is_quantity_on_lot(self, quantity: Decimal) -> bool:
        return quantity % self.lot_size == 0


class _MarketEventBase(FrozenModel):
    symbol: str
    venue: str = Field(min_length=1)
    ts: UtcDatetime

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        parse_symbol(value)
        return value


class Bar(_MarketEventBase):
    """An OHLCV candle; ``ts`` is the open time, as in ccxt's ``fetch_ohlcv``."""

    kind: Literal["bar"] = "bar"
    timeframe: str = Field(default="1m", pattern=r"^\d+[smhdwM]$")
    open: PositiveMoney
    high: PositiveMoney
    low: PositiveMoney
    close: PositiveMoney
    volume: NonNegativeMoney

    @model_validator(mode="after")
    def _ohlc_consistent(self) -> Bar:
        if self.low > min(self.open, self.close) or self.high < max(self.open, self.close):
            raise ValueError(
                f"bar {self.symbol}@{self.venue} {self.ts.isoformat()}: low {self.low} and "
                f"high {self.high} must bracket open {self.open} and close {self.close}"
            )
        return self


class Trade(_MarketEventBase):
    """A public trade printed on the venue."""

    kind: Literal["trade"] = "trade"
    trade_id: str = Field(min_length=1)
    price: PositiveMoney
    amount: PositiveMoney
    side: Side


class BookLevel(FrozenModel):
    price: PositiveMoney
    amount: PositiveMoney


class OrderBook(_MarketEventBase):
    """A depth snapshot: bids best (highest) first, asks best (lowest) first, never crossed."""

    kind: Literal["book"] = "book"
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    @model_validator(mode="after")
    def _sorted_and_uncrossed(self) -> OrderBook:
        bid_prices = [level.price for level in self.bids]
        ask_prices = [level.price for level in self.asks]
        if bid_prices != sorted(bid_prices, reverse=True) or len(set(bid_prices)) != len(
            bid_prices
        ):
            raise ValueError(f"book {self.symbol}@{self.venue}: bids must be strictly descending")
        if ask_prices != sorted(ask_prices) or len(set(ask_prices)) != len(ask_prices):
            raise ValueError(f"book {self.symbol}@{self.venue}: asks must be strictly ascending")
        if bid_prices and ask_prices and bid_prices[0] >= ask_prices[0]:
            raise ValueError(
                f"book {self.symbol}@{self.venue} is crossed: best bid {bid_prices[0]} "
                f">= best ask {ask_prices[0]}"
            )
        return self

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2


class MetricPoint(FrozenModel):
    """A generic numeric observation that is not a price, such as a protocol's TVL.

    ``symbol`` is optional: a chain-wide TVL belongs to no tradable market.
    Values are analytics, so they are floats (finite), not money.
    """

    kind: Literal["metric"] = "metric"
    name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_.]*$")
    ts: UtcDatetime
    value: float
    unit: str = ""
    source: str = Field(min_length=1)
    symbol: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"metric value {value!r} is not finite")
        return value


MarketEvent = Annotated[Bar | Trade | OrderBook | MetricPoint, Field(discriminator="kind")]
"""Anything a DataSource emits, told apart by its ``kind`` field."""
