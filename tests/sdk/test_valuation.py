"""One intent valuation for every risk rule: which price, which rate, which grid, and the
error that says what is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_sdk import (
    IntentValue,
    OrderType,
    RiskError,
    Side,
    ValuationError,
    currency_rate,
    value_intent,
)
from crypto_bot_sdk.testing import (
    StaticRiskContext,
    bar_series,
    make_instrument,
    make_intent,
    market_view_from,
)

D = Decimal


def _view(*series: tuple[str, str, str], instruments: tuple[object, ...] = ()) -> object:
    bars = [
        bar
        for symbol, venue, price in series
        for bar in bar_series(symbol, venue, count=2, start_price=price, volatility=0.0)
    ]
    bars.sort(key=lambda b: (b.ts, b.symbol, b.venue))
    return market_view_from(bars, instruments)  # type: ignore[arg-type]


def test_price_precedence_limit_then_reference_then_last_then_stop() -> None:
    view = _view(("BTC/USDT", "conformance", "100"))
    base = StaticRiskContext().with_market(view)  # type: ignore[arg-type]
    limit = make_intent(order_type=OrderType.LIMIT, price="90")
    assert value_intent(limit, base.with_reference_price("95").build()).source == "limit price"
    market = make_intent()
    valued = value_intent(market, base.with_reference_price("95").build())
    assert (valued.price, valued.source) == (D(95), "reference price")
    valued = value_intent(market, base.build())
    assert (valued.price, valued.source) == (D(100), "last price")
    stop = market.model_copy(update={"order_type": OrderType.STOP, "stop_price": D(105)})
    empty = StaticRiskContext().build()
    valued = value_intent(stop, empty)
    assert (valued.price, valued.source) == (D(105), "stop price")
    with pytest.raises(ValuationError, match="no price to value BTC/USDT: the intent has no"):
        value_intent(market, empty)


def test_contract_size_and_rate_turn_quantity_into_portfolio_money() -> None:
    perp = make_instrument("BTC/USD:ETH", "v", lot_size="0.01")
    perp = perp.model_copy(update={"contract_size": D("0.5"), "min_notional": D(10)})
    view = _view(("BTC/USD:ETH", "v", "100"), ("ETH/USDT", "v", "2000"), instruments=(perp,))
    context = StaticRiskContext().with_market(view).build()  # type: ignore[arg-type]
    intent = make_intent("BTC/USD:ETH", Side.BUY, "3", venue="v")
    valued = value_intent(intent, context)
    assert valued == IntentValue(
        price=D(100), source="last price", contract_size=D("0.5"), rate=D(2000),
        instrument=perp, currency="USDT",
    )
    assert valued.unit == D(100000)
    assert valued.value(D(3)) == D(300000)
    assert valued.quantity_for(D(250000)) == D("2.5")
    assert valued.quantity_for(D("123456.789")) == D("1.23")  # rounded down to the lot grid
    assert valued.quantity_for(D(0)) == D(0)
    # The venue's minimum is in the symbol's quote currency: 0.2 x 100 x 0.5 = 10.
    assert valued.below_minimum(D("0.19")) is True
    assert valued.below_minimum(D("0.2")) is False


def test_without_an_instrument_the_grid_is_eight_decimals() -> None:
    valued = IntentValue(D(3), "limit price", D(1), D(1), None, "USDT")
    assert valued.quantity_for(D(1)) == D("0.33333333")
    assert valued.below_minimum(D("0.00000001")) is False


def test_currency_rate_direct_inverse_and_missing() -> None:
    view = _view(("ETH/USDT", "v", "2000"), ("USDT/JPY", "v", "150"))
    assert currency_rate("USDT", "USDT", None) == D(1)
    assert currency_rate("ETH", "USDT", view) == D(2000)  # type: ignore[arg-type]
    assert currency_rate("JPY", "USDT", view) == D(1) / D(150)  # type: ignore[arg-type]
    with pytest.raises(ValuationError) as caught:
        currency_rate("BTC", "USDT", view)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "cannot convert BTC into the portfolio currency USDT: the market view has no price "
        "for BTC/USDT or USDT/BTC"
    )
    with pytest.raises(ValuationError, match="BTC/USDT or USDT/BTC"):
        currency_rate("BTC", "USDT", None)


def test_valuation_error_is_caught_where_both_old_copies_were() -> None:
    # standard_risk caught ValueError, risk_engine and the analytics RiskError.
    assert issubclass(ValuationError, RiskError)
    assert issubclass(ValuationError, ValueError)
