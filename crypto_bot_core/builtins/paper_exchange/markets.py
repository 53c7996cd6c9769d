"""The venue's instruments: configured ones, ones derived from the data, and order checks.

A :class:`Market` caches what matching needs on every fill (base, quote,
settle currency, lot and contract size) so the hot path never re-parses a
symbol; :class:`MarketRegistry` decides which symbols are tradable.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from crypto_bot_core.builtins.paper_exchange.config import PaperExchangeConfig
from crypto_bot_sdk import (
    Instrument,
    InstrumentKind,
    InvalidOrderError,
    OrderRequest,
    PrecisionError,
)


def kind_of(symbol: str) -> InstrumentKind:
    """ccxt's convention: a settlement currency after ':' marks a perpetual."""
    return InstrumentKind.PERPETUAL if ":" in symbol else InstrumentKind.SPOT


@dataclass(frozen=True, slots=True)
class Market:
    """One instrument plus the parts of it matching reads on every fill, as plain fields."""

    instrument: Instrument
    symbol: str
    base: str
    quote: str
    settle: str
    is_perpetual: bool
    tick: Decimal
    lot: Decimal
    contract_size: Decimal

    @classmethod
    def of(cls, instrument: Instrument) -> Market:
        return cls(
            instrument=instrument,
            symbol=instrument.symbol,
            base=instrument.base,
            quote=instrument.quote,
            settle=instrument.settle,
            is_perpetual=instrument.kind is InstrumentKind.PERPETUAL,
            tick=instrument.tick_size,
            lot=instrument.lot_size,
            contract_size=instrument.contract_size,
        )

    def floor_lot(self, quantity: Decimal) -> Decimal:
        """The largest whole number of lots not above ``quantity`` (never negative)."""
        if quantity <= 0:
            return Decimal(0)
        lots = (quantity / self.lot).to_integral_value(rounding=ROUND_FLOOR)
        return lots * self.lot


class MarketRegistry:
    """Which symbols this venue trades, and the checks an order must pass against them."""

    def __init__(self, config: PaperExchangeConfig) -> None:
        self._venue = config.venue
        self._derive = config.derive_instruments
        self._markets: dict[str, Market] = {}
        self._derived: set[str] = set()
        for spec in config.instruments:
            kind = spec.kind or kind_of(spec.symbol)
            self._add(
                Instrument(
                    symbol=spec.symbol,
                    venue=config.venue,
                    kind=kind,
                    tick_size=spec.tick_size,
                    lot_size=spec.lot_size,
                    min_notional=spec.min_notional,
                    contract_size=spec.contract_size,
                )
            )

    def _add(self, instrument: Instrument) -> Market:
        market = Market.of(instrument)
        self._markets[instrument.symbol] = market
        return market

    def instruments(self, seen_symbols: list[str]) -> list[Instrument]:
        """Configured instruments, then (if derivation is on) every other symbol seen so far."""
        if self._derive is not None:
            for symbol in seen_symbols:
                if symbol not in self._markets:
                    self.derive(symbol)
        return [market.instrument for market in self._markets.values()]

    def settle_currencies(self) -> set[str]:
        """The currencies the known markets settle in (quote, or a perpetual's settle)."""
        return {market.settle for market in self._markets.values()}

    def get(self, symbol: str) -> Market | None:
        return self._markets.get(symbol)

    def derive(self, symbol: str) -> Market:
        """Create the instrument for a symbol met in the data stream."""
        if self._derive is None:
            raise InvalidOrderError(
                f"symbol {symbol!r} is not listed in instruments and derive_instruments is off",
                venue=self._venue,
            )
        self._derived.add(symbol)
        return self._add(
            Instrument(
                symbol=symbol,
                venue=self._venue,
                kind=kind_of(symbol),
                tick_size=self._derive.tick_size,
                lot_size=self._derive.lot_size,
                min_notional=self._derive.min_notional,
            )
        )

    def resolve(self, symbol: str, *, seen: bool) -> Market:
        """The market for an order on ``symbol``; ``InvalidOrderError`` when not tradable."""
        market = self._markets.get(symbol)
        if market is not None:
            return market
        if seen and self._derive is not None:
            return self.derive(symbol)
        listed = ", ".join(sorted(self._markets)) or "none"
        hint = (
            "it has not appeared in the data stream yet"
            if self._derive is not None
            else "list it under instruments"
        )
        raise InvalidOrderError(
            f"unknown symbol {symbol!r} (tradable: {listed}); {hint}", venue=self._venue
        )

    def check_precision(self, market: Market, request: OrderRequest) -> None:
        """Refuse sizes off the lot grid and prices off the tick grid, naming the nearest fit."""
        inst = market.instrument
        if not inst.is_quantity_on_lot(request.quantity):
            raise PrecisionError(
                f"quantity {request.quantity} of {request.client_order_id} is not a multiple "
                f"of the lot size {inst.lot_size} of {inst.symbol}; use "
                f"{inst.round_quantity(request.quantity)}",
                venue=self._venue,
            )
        for label, price in (("price", request.price), ("stop_price", request.stop_price)):
            if price is not None and not inst.is_price_on_tick(price):
                raise PrecisionError(
                    f"{label} {price} of {request.client_order_id} is not a multiple of the "
                    f"tick size {inst.tick_size} of {inst.symbol}; use {inst.round_price(price)}",
                    venue=self._venue,
                )

    def check_min_notional(
        self, market: Market, request: OrderRequest, price: Decimal | None
    ) -> None:
        inst = market.instrument
        if price is None or inst.min_notional == 0:
            return
        notional = request.quantity * price * inst.contract_size
        if notional < inst.min_notional:
            raise InvalidOrderError(
                f"order {request.client_order_id} is worth {notional} {market.quote}, below the "
                f"minimum notional {inst.min_notional} of {inst.symbol}; increase the quantity",
                venue=self._venue,
            )

    def derived_symbols(self) -> list[str]:
        """Symbols created from the data (configured ones come back from the config)."""
        return sorted(self._derived)
