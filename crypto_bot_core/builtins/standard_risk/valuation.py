"""What the rules need to put a value on an intent and say what they decided.

The valuation itself is the SDK's (:func:`crypto_bot_sdk.value_intent`), the
one every rule plugin shares, so every rule values an order the same way and
says the same thing when it cannot. ``Valuation`` and ``ValuationError`` are
the SDK's :class:`~crypto_bot_sdk.IntentValue` and
:class:`~crypto_bot_sdk.ValuationError` under this module's earlier names.

These rules run on every order of a backtest, so two things are done once
instead of on every call: the verdict is built without pydantic's validation
(:func:`verdict`: the rules only ever give it valid values), and the valuation
the rules of one pipeline share (same intent, same context) is computed by
the first of them (:func:`value_intent`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from crypto_bot_core.support.trusted import maker
from crypto_bot_sdk import (
    Instrument,
    IntentValue,
    OrderIntent,
    RiskContext,
    RiskVerdict,
    ValuationError,
    VerdictAction,
    currency_rate,
    parse_symbol,
)
from crypto_bot_sdk import value_intent as sdk_value_intent

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
    "verdict",
]

APPROVE = VerdictAction.APPROVE
RESIZE = VerdictAction.RESIZE
REJECT = VerdictAction.REJECT
_FIXED_SOURCES = frozenset({"limit price", "reference price"})
_make_verdict = maker(RiskVerdict)
_last: list[tuple[OrderIntent, RiskContext, IntentValue]] = []
"""The last valuation that read nothing that can change, with what it valued (one entry)."""


def value_intent(intent: OrderIntent, context: RiskContext) -> IntentValue:
    """:func:`crypto_bot_sdk.value_intent`, computed once for the rules of one pipeline.

    The engine hands every rule the same intent and context objects (a new
    intent only after a resize); three of the five rules value it, at ~2 us a
    time. The answer is kept for the objects it was given, by identity, and
    only when it read nothing that can change under them: the price is the
    intent's or the context's reference (both immutable) and no exchange rate
    was looked up in the (live) market view. Otherwise it is computed afresh,
    exactly as before.
    """
    if _last:
        last_intent, last_context, valued = _last[0]
        if last_intent is intent and last_context is context:
            return valued
    valued = sdk_value_intent(intent, context)
    if valued.source in _FIXED_SOURCES:
        _base, quote, settle = parse_symbol(intent.symbol)
        if (settle or quote) == valued.currency:
            _last[:] = [(intent, context, valued)]
    return valued


def verdict(
    rule: str,
    action: VerdictAction,
    reason: str,
    figures: dict[str, str] | None = None,
    quantity: Decimal | None = None,
) -> RiskVerdict:
    """``RiskVerdict(rule=..., action=..., ...)`` without validation (~0.6 us instead of ~2).

    ``tests/core/builtins/standard_risk/test_risk_verdicts_unchanged.py`` pins every
    verdict of these rules over a grid of cases to what the validated ones gave.

    Only for the values these rules produce, which are valid by construction: a
    named rule, an action, a reason for every resize and reject, a positive
    quantity exactly for a resize, text figures. The engine checks every
    verdict it receives anyway (``check_verdict``).
    """
    made: RiskVerdict = _make_verdict(
        {
            "rule": rule,
            "action": action,
            "reason": reason,
            "quantity": quantity,
            "figures": {} if figures is None else figures,
        }
    )
    return made


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
    portfolio = context.portfolio
    rate = currency_rate(quote, portfolio.quote_currency, context.market, portfolio.rates)
    return abs(quantity) * price * size * rate


def reduces_position(intent: OrderIntent, net: Decimal) -> bool:
    """True if the intent only shrinks the position: reduce-only, or opposite and no larger."""
    if intent.reduce_only:
        return True
    return net * intent.side.sign < 0 and intent.quantity <= abs(net)


_STEPS = {places: Decimal(1).scaleb(-places) for places in range(13)}
"""``Decimal(1).scaleb(-places)`` for the usual places, made once."""
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def show(amount: Decimal, places: int = 2) -> str:
    """Money for people: ``12000.00`` -> ``12,000``, ``1234.567`` -> ``1,234.57``."""
    step = _STEPS.get(places)
    if step is None:
        step = Decimal(1).scaleb(-places)
    rounded = amount.quantize(step, rounding=ROUND_HALF_EVEN).normalize()
    return f"{rounded:,f}"


def show_qty(quantity: Decimal) -> str:
    """A quantity without trailing zeros or exponent: ``0.08330`` -> ``0.0833``."""
    return f"{quantity.normalize():f}"


def percent(fraction: Decimal) -> str:
    return f"{(fraction * _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_EVEN)}%"
