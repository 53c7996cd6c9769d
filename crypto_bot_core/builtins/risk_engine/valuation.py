"""Putting a value on an intent: its price, instrument, currency rate, and the lot grid.

Every rule of the plugin values an order the same way (limit price, else the
context's reference price, else the last price, else the stop price) and
rounds sizes down, never up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from crypto_bot_core.risk.exposure import currency_rate, settlement_currency
from crypto_bot_sdk import Instrument, OrderIntent, RiskContext, RiskError

_FALLBACK_STEP = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class Valued:
    price: Decimal
    source: str
    unit: Decimal  # portfolio money per unit of quantity: price x contract size x rate
    instrument: Instrument | None
    currency: str

    def value(self, quantity: Decimal) -> Decimal:
        return quantity * self.unit

    def round_down(self, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            return Decimal(0)
        if self.instrument is not None:
            return self.instrument.round_quantity(quantity)
        return quantity.quantize(_FALLBACK_STEP, rounding=ROUND_DOWN)

    def fits_venue(self, quantity: Decimal) -> bool:
        """True if ``quantity`` is a positive size the venue accepts (lot and minimum value)."""
        if quantity <= 0:
            return False
        if self.instrument is None:
            return True
        notional = quantity * self.price * self.instrument.contract_size
        return notional >= self.instrument.min_notional


def instrument_for(context: RiskContext, symbol: str, venue: str | None) -> Instrument | None:
    for instrument in context.market.instruments():
        if instrument.symbol == symbol and (venue is None or instrument.venue == venue):
            return instrument
    return None


def value_intent(intent: OrderIntent, context: RiskContext) -> Valued:
    """Raises :class:`RiskError` (with what is missing) when the intent has no price."""
    if intent.price is not None:
        price, source = intent.price, "limit price"
    elif context.reference_price is not None and context.reference_price > 0:
        price, source = context.reference_price, "reference price"
    elif (last := context.market.last_price(intent.symbol, intent.venue)) is not None:
        price, source = last, "last price"
    elif intent.stop_price is not None:
        price, source = intent.stop_price, "stop price"
    else:
        raise RiskError(
            f"no price to value {intent.symbol}: the intent has no limit price, the context no "
            "reference price and the market view no last price"
        )
    instrument = instrument_for(context, intent.symbol, intent.venue)
    size = instrument.contract_size if instrument is not None else Decimal(1)
    ccy = context.portfolio.quote_currency
    rate = currency_rate(settlement_currency(intent.symbol), ccy, context.market)
    return Valued(price, source, price * size * rate, instrument, ccy)


def reduces_position(intent: OrderIntent, net: Decimal) -> bool:
    """Reduce-only, or opposite to the net position and no larger than it."""
    if intent.reduce_only:
        return True
    return net * intent.side.sign < 0 and intent.quantity <= abs(net)


def show(amount: Decimal | float, places: int = 2) -> str:
    """Money for people: ``12000.00`` -> ``12,000``."""
    value = Decimal(str(amount)) if isinstance(amount, float) else amount
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()
    return f"{rounded:,f}"


def money(amount: Decimal | float) -> str:
    """A figure for the verdict: cents, as a plain string."""
    value = Decimal(str(amount)) if isinstance(amount, float) else amount
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN), "f")


def qty(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"
