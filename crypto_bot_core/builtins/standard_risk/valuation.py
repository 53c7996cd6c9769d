"""What the rules need to put a value on an intent: a price, the instrument, a currency rate.

The valuation itself is the SDK's (:func:`crypto_bot_sdk.value_intent`), the
one every rule plugin shares, so every rule values an order the same way and
says the same thing when it cannot. ``Valuation`` and ``ValuationError`` are
the SDK's :class:`~crypto_bot_sdk.IntentValue` and
:class:`~crypto_bot_sdk.ValuationError` under this module's earlier names.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from crypto_bot_sdk import (
    Instrument,
    IntentValue,
    OrderIntent,
    RiskContext,
    ValuationError,
    currency_rate,
    parse_symbol,
    value_intent,
)

Valuation = IntentValue

__all__ = [
    "Valuation",
    "ValuationError",
    "instrument_for",
    "percent",
    "position_value",
    "reduces_position",
    "show",
    "show_qty",
    "value_intent",
]


def instrument_for(context: RiskContext, symbol: str, venue: str | None) -> Instrument | None:
    for instrument in context.market.instruments():
        if instrument.symbol == symbol and (venue is None or instrument.venue == venue):
            return instrument
    return None


def position_value(context: RiskContext, symbol: str, quantity: Decimal, price: Decimal) -> Decimal:
    """Absolute value of ``quantity`` of ``symbol`` at ``price`` in the portfolio currency."""
    instrument = instrument_for(context, symbol, None)
    size = instrument.contract_size if instrument is not None else Decimal(1)
    quote = parse_symbol(symbol)[2] or parse_symbol(symbol)[1]
    rate = currency_rate(quote, context.portfolio.quote_currency, context.market)
    return abs(quantity) * price * size * rate


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
