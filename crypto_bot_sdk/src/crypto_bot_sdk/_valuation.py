"""Putting a value on an order intent, the one way every risk rule does it.

An intent is valued at its limit price, else the context's reference price
(what the engine expects it to execute near), else the market's last price,
else its stop price; then times the instrument's contract size and the rate
from the symbol's settlement currency into the portfolio currency. Two rule
plugins and the risk analytics used to carry their own copies of this; a
rule that valued an order differently from its neighbours would let through
what another refuses, so the SDK holds the one version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from crypto_bot_sdk._contracts import RiskContext
from crypto_bot_sdk._errors import ValuationError
from crypto_bot_sdk._market import Instrument, parse_symbol
from crypto_bot_sdk._market_view import MarketView
from crypto_bot_sdk._orders import OrderIntent

_FALLBACK_STEP = Decimal("0.00000001")  # quantity grid when the instrument is unknown
_ONE = Decimal(1)


def settlement_currency(symbol: str) -> str:
    """The currency a symbol's P&L is paid in: a perpetual's settle currency, else the quote."""
    _base, quote, settle = parse_symbol(symbol)
    return settle or quote


def currency_rate(
    currency: str,
    into: str,
    market: MarketView | None,
    rates: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """How many ``into`` one unit of ``currency`` is worth, from the market's last prices.

    1 for the same currency; the portfolio's own rate when ``rates`` (a
    :class:`PortfolioSnapshot`'s, whose currency is ``into``) has one, so a
    rule converts as the book does, pegged currencies included; else
    ``CURRENCY/INTO`` if the market has a positive price for it, else the
    inverse of ``INTO/CURRENCY``. Raises :class:`ValuationError` naming both
    pairs when neither is known.
    """
    if currency == into:
        return _ONE
    if rates:
        known = rates.get(currency)
        if known is not None:
            return known
    if market is not None:
        direct = market.last_price(f"{currency}/{into}")
        if direct is not None and direct > 0:
            return direct
        inverse = market.last_price(f"{into}/{currency}")
        if inverse is not None and inverse > 0:
            return 1 / inverse
    raise ValuationError(
        f"cannot convert {currency} into the portfolio currency {into}: the market view has "
        f"no price for {currency}/{into} or {into}/{currency}"
    )


def instrument_for(market: MarketView, symbol: str, venue: str | None) -> Instrument | None:
    """The market's instrument of ``symbol`` (on ``venue``, or the first venue listing it)."""
    for instrument in market.instruments():
        if instrument.symbol == symbol and (venue is None or instrument.venue == venue):
            return instrument
    return None


@dataclass(frozen=True, slots=True)
class IntentValue:
    """An intent's price, where it came from, and how quantity turns into portfolio money."""

    price: Decimal
    source: str
    """``"limit price"``, ``"reference price"``, ``"last price"`` or ``"stop price"``."""
    contract_size: Decimal
    rate: Decimal
    """Portfolio currency per unit of the symbol's settlement currency."""
    instrument: Instrument | None
    currency: str
    """The portfolio currency."""

    @property
    def unit(self) -> Decimal:
        """Portfolio money per unit of quantity: price x contract size x rate."""
        return self.price * self.contract_size * self.rate

    def value(self, quantity: Decimal) -> Decimal:
        """``quantity`` of the symbol, in the portfolio currency."""
        return quantity * self.price * self.contract_size * self.rate

    def round_down(self, quantity: Decimal) -> Decimal:
        """``quantity`` on the instrument's lot grid (8 decimals without one), never rounded up."""
        if self.instrument is not None:
            return self.instrument.round_quantity(quantity)
        return quantity.quantize(_FALLBACK_STEP, rounding=ROUND_DOWN)

    def quantity_for(self, value: Decimal) -> Decimal:
        """The largest valid quantity worth at most ``value`` (0 for a value of 0 or less)."""
        if value <= 0:
            return Decimal(0)
        return self.round_down(value / (self.price * self.contract_size * self.rate))

    def below_minimum(self, quantity: Decimal) -> bool:
        """True if ``quantity`` is under the venue's smallest order value (never without an
        instrument)."""
        if self.instrument is None:
            return False
        return quantity * self.price * self.contract_size < self.instrument.min_notional


def value_intent(intent: OrderIntent, context: RiskContext) -> IntentValue:
    """Value ``intent`` at its limit price, else the reference, last or stop price.

    Raises :class:`ValuationError` when there is no price at all, or no rate
    from the symbol's settlement currency into the portfolio currency.
    """
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
    instrument = instrument_for(context.market, intent.symbol, intent.venue)
    portfolio = context.portfolio
    currency = portfolio.quote_currency
    return IntentValue(
        price=price,
        source=source,
        contract_size=instrument.contract_size if instrument is not None else _ONE,
        rate=currency_rate(
            settlement_currency(intent.symbol), currency, context.market, portfolio.rates
        ),
        instrument=instrument,
        currency=currency,
    )
