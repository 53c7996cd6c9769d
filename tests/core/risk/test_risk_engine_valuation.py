"""The risk-engine rules' valuation of an intent: sizes rounded down to the venue's lot,
the venue's minimum value, what counts as reducing a position, and the figures people read.

A rule that resizes must never round a size up (it would breach the limit it enforces)
nor propose a size the venue refuses; its figures go into the decision record as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crypto_bot_core.builtins.risk_engine.valuation import (
    Valued,
    instrument_for,
    money,
    qty,
    reduces_position,
    show,
    value_intent,
)
from crypto_bot_sdk import InMemoryMarketView, OrderIntent, Side
from crypto_bot_sdk.testing import StaticRiskContext, make_instrument

TS = datetime(2024, 6, 1, tzinfo=UTC)
BTC = make_instrument("BTC/USDT", "alpha", lot_size="0.001", min_notional="5")


def _valued(instrument: object = BTC, price: str = "60000") -> Valued:
    return Valued(
        price=Decimal(price),
        source="limit",
        unit=Decimal(price),
        instrument=instrument,  # type: ignore[arg-type]
        currency="USDT",
    )


def _intent(side: Side, quantity: str, *, reduce_only: bool = False) -> OrderIntent:
    return OrderIntent(
        intent_id="i-1",
        symbol="BTC/USDT",
        side=side,
        quantity=Decimal(quantity),
        ts=TS,
        reduce_only=reduce_only,
    )


def test_sizes_round_down_to_the_lot_or_to_eight_places_without_an_instrument() -> None:
    assert _valued().round_down(Decimal("0.12399")) == Decimal("0.123")
    assert _valued(None).round_down(Decimal("0.123456789")) == Decimal("0.12345678")
    assert _valued().round_down(Decimal(0)) == Decimal(0)
    assert _valued().round_down(Decimal("-1")) == Decimal(0)
    assert _valued().value(Decimal("0.5")) == Decimal(30000)


def test_a_size_fits_the_venue_only_if_positive_and_worth_its_minimum() -> None:
    valued = _valued(price="5000")
    # 0.001 x 5,000 = 5 USDT: exactly the minimum; half a lot less is under it.
    assert valued.fits_venue(Decimal("0.001")) is True
    assert valued.fits_venue(Decimal("0.0009")) is False
    assert valued.fits_venue(Decimal(0)) is False
    assert _valued(None).fits_venue(Decimal("0.00000001")) is True  # no instrument: no minimum


def test_the_instrument_is_found_by_symbol_and_venue() -> None:
    beta = make_instrument("BTC/USDT", "beta")
    context = StaticRiskContext().with_market(InMemoryMarketView([BTC, beta])).build()
    assert instrument_for(context, "BTC/USDT", "beta") is beta
    assert instrument_for(context, "BTC/USDT", None) is BTC  # any venue: the first listed
    assert instrument_for(context, "ETH/USDT", None) is None


def test_an_intent_is_valued_at_its_limit_price_times_the_rate() -> None:
    context = StaticRiskContext().with_market(InMemoryMarketView([BTC])).build()
    intent = OrderIntent(
        intent_id="i-2",
        symbol="BTC/USDT",
        venue="alpha",
        side=Side.BUY,
        order_type="limit",  # type: ignore[arg-type]
        price=Decimal(59000),
        quantity=Decimal("0.01"),
        ts=TS,
    )
    valued = value_intent(intent, context)
    assert (valued.price, valued.currency, valued.instrument) == (Decimal(59000), "USDT", BTC)
    assert valued.value(intent.quantity) == Decimal("590.00")


@pytest.mark.parametrize(
    ("side", "quantity", "net", "reduce_only", "reduces"),
    [
        (Side.SELL, "1", Decimal(2), False, True),  # part of a long
        (Side.SELL, "2", Decimal(2), False, True),  # the whole long
        (Side.SELL, "3", Decimal(2), False, False),  # flips to short: not a reduction
        (Side.BUY, "1", Decimal(-1), False, True),  # covers a short
        (Side.BUY, "1", Decimal(2), False, False),  # adds to a long
        (Side.BUY, "1", Decimal(0), False, False),  # opens
        (Side.BUY, "5", Decimal(2), True, True),  # reduce-only says so itself
    ],
)
def test_what_reduces_a_position(
    side: Side, quantity: str, net: Decimal, reduce_only: bool, reduces: bool
) -> None:
    assert reduces_position(_intent(side, quantity, reduce_only=reduce_only), net) is reduces


def test_figures_for_people_and_for_the_record() -> None:
    assert show(Decimal("12000.00")) == "12,000"
    assert show(Decimal("1234.565")) == "1,234.56"  # half to even
    assert show(0.1 + 0.2, 4) == "0.3"
    assert money(Decimal("2.345")) == "2.34"
    assert money(1.005) == "1.00"  # the float's shortest text, 1.005, rounds half to even
    assert money(Decimal(7)) == "7.00"
    assert qty(Decimal("0.1500")) == "0.15"
    assert qty(Decimal("1E+2")) == "100"


def test_a_zero_is_never_shown_negative() -> None:
    # The VaR of an empty book comes out of numpy as -0.0; a rounded tiny loss likewise.
    assert show(-0.0) == "0"
    assert show(Decimal("-0.001")) == "0"
    assert money(-0.0) == "0.00"
    assert money(Decimal("-0.004")) == "0.00"
    assert money(Decimal("-0.005")) == "0.00"  # half to even: the sign goes with the zero
    assert money(Decimal("-0.015")) == "-0.02"
