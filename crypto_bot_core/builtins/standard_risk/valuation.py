"""What the rules need to put a value on an intent: a price, the instrument, a currency rate.

Kept apart from the rules so every rule values an order the same way and
says the same thing when it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from crypto_bot_sdk import Instrument, OrderIntent, RiskContext, parse_symbol

_FALLBACK_STEP = Decimal("0.00000001")  # quantity grid when the instrument is unknown


class ValuationError(ValueError):
    """The intent cannot be valued; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Valuation:
    """The intent's price, where it came from, and how to turn quantity into portfolio money."""

    price: Decimal
    source: str  # "limit price", "reference price", "last price" or "stop price"
    contract_size: Decimal
    rate: Decimal  # portfolio currency per unit of the symbol's quote currency
    instrument: Instrument | None
    currency: str  # the portfolio currency

    def value(self, quantity: Decimal) -> Decimal:
        """``quantity`` of the symbol, in the portfolio currency."""
        return quantity * self.price * self.contract_size * self.rate

    def quantity_for(self, value: Decimal) -> Decimal:
        """The largest valid quantity worth at most ``value``: rounded down to the lot grid."""
        if value <= 0:
            return Decimal(0)
        raw = value / (self.price * self.contract_size * self.rate)
        return self.round_down(raw)

    def round_down(self, quantity: Decimal) -> Decimal:
        if self.instrument is not None:
            return self.instrument.round_quantity(quantity)
        return quantity.quantize(_FALLBACK_STEP, rounding=ROUND_DOWN)

    def below_minimum(self, quantity: Decimal) -> bool:
        """True if ``quantity`` is under the venue's smallest order value."""
        if self.instrument is None:
            return False
        return quantity * self.price * self.contract_size < self.instrument.min_notional


def instrument_for(context: RiskContext, symbol: str, venue: str | None) -> Instrument | None:
    for instrument in context.market.instruments():
        if instrument.symbol == symbol and (venue is None or instrument.venue == venue):
            return instrument
    return None


def _rate(context: RiskContext, quote: str) -> Decimal:
    currency = context.portfolio.quote_currency
    if quote == currency:
        return Decimal(1)
    direct = context.market.last_price(f"{quote}/{currency}")
    if direct is not None and direct > 0:
        return direct
    inverse = context.market.last_price(f"{currency}/{quote}")
    if inverse is not None and inverse > 0:
        return 1 / inverse
    raise ValuationError(
        f"cannot convert {quote} into the portfolio currency {currency}: the market view has "
        f"no price for {quote}/{currency} or {currency}/{quote}"
    )


def value_intent(intent: OrderIntent, context: RiskContext) -> Valuation:
    """Value ``intent`` at its limit price, else the reference, last or stop price."""
    if intent.price is not None:
        price, source = intent.price, "limit price"
    elif context.reference_price is not None and context.reference_price > 0:
        price, source = context.reference_price, "reference price"
    elif (last := context.market.last_price(intent.symbol, intent.venue)) is not None:
        price, source = last, "last price"
    elif intent.stop_price is not None:
        price, source = intent.stop_price, "stop price"
    else:
        raise ValuationError(
            f"no price to value {intent.symbol}: the intent has no limit price, the context no "
            "reference price and the market view no last price"
        )
    instrument = instrument_for(context, intent.symbol, intent.venue)
    quote = parse_symbol(intent.symbol)[2] or parse_symbol(intent.symbol)[1]
    return Valuation(
        price=price,
        source=source,
        contract_size=instrument.contract_size if instrument is not None else Decimal(1),
        rate=_rate(context, quote),
        instrument=instrument,
        currency=context.portfolio.quote_currency,
    )


def position_value(context: RiskContext, symbol: str, quantity: Decimal, price: Decimal) -> Decimal:
    """Absolute value of ``quantity`` of ``symbol`` at ``price`` in the portfolio currency."""
    instrument = instrument_for(context, symbol, None)
    size = instrument.contract_size if instrument is not None else Decimal(1)
    quote = parse_symbol(symbol)[2] or parse_symbol(symbol)[1]
    return abs(quantity) * price * size * _rate(context, quote)


def reduces_position(intent: OrderIntent, net: Decimal) -> bool:
    """True if the intent only shrinks the position: reduce-only, or opposite and no larger."""
    if intent.reduce_only:
        return True
    return net * intent.side.sign < 0 and intent.quantity <= abs(net)


def show(amount: Decimal, places: int = 2) -> str:
    """Money for people: ``12000.00`` -> ``12,000``, ``1234.567`` -> ``1,234.57``."""
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()
    return f"{rounded:,f}"


def show_qty(quantity: Decimal) -> str:
    """A quantity without trailing zeros or exponent: ``0.08330`` -> ``0.0833``."""
    return f"{quantity.normalize():f}"


def percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN)}%"
