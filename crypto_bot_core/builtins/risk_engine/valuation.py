"""Putting a value on an intent: its price, instrument, currency rate, and the lot grid.

The valuation is the SDK's (:func:`crypto_bot_sdk.value_intent`: limit price,
else the context's reference price, else the last price, else the stop
price), the one every rule plugin shares. :class:`Valued` keeps this
plugin's view of it: money per unit of quantity computed once, and sizes
rounded down, never up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from crypto_bot_sdk import Instrument, IntentValue, OrderIntent, RiskContext
from crypto_bot_sdk import value_intent as sdk_value_intent

_FALLBACK_STEP = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class Valued:
    price: Decimal
    source: str
    unit: Decimal  # portfolio money per unit of quantity: price x contract size x rate
    instrument: Instrument | None
    currency: str

    @classmethod
    def of(cls, value: IntentValue) -> Valued:
        return cls(value.price, value.source, value.unit, value.instrument, value.currency)

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
    """Raises :class:`~crypto_bot_sdk.ValuationError` (a ``RiskError``, with what is missing)
    when the intent has no price or no rate into the portfolio currency."""
    return Valued.of(sdk_value_intent(intent, context))


def reduces_position(intent: OrderIntent, net: Decimal) -> bool:
    """Reduce-only, or opposite to the net position and no larger than it."""
    if intent.reduce_only:
        return True
    return net * intent.side.sign < 0 and intent.quantity <= abs(net)


def show(amount: Decimal | float, places: int = 2) -> str:
    """Money for people: ``12000.00`` -> ``12,000``; a zero is never ``-0``."""
    value = Decimal(str(amount)) if isinstance(amount, float) else amount
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()
    return f"{_unsigned_zero(rounded):,f}"


def money(amount: Decimal | float) -> str:
    """A figure for the verdict: cents, as a plain string; a zero is never ``-0.00``."""
    value = Decimal(str(amount)) if isinstance(amount, float) else amount
    return format(_unsigned_zero(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)), "f")


def _unsigned_zero(value: Decimal) -> Decimal:
    """``-0`` as ``0``: numpy's VaR of an empty book is -0.0, and a tiny loss rounds to -0."""
    return value.copy_abs() if value.is_zero() else value


def qty(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"
