"""The arbitrage guard's verdicts beyond the common case: a leg nobody else quotes, a leg
it cannot value, the gross limit binding, and a book already at its limit.

The reason is what the operator reads in the decision record, so it is checked whole.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine import ArbitrageGuard
from crypto_bot_sdk import InMemoryMarketView, OrderIntent, OrderType, Side, VerdictAction
from crypto_bot_sdk.testing import make_instrument, make_intent

from .risk_helpers import NOW, book
from .rule_markets import arbitrage_market, base_context

LIMITS = {"max_leg_notional": "15000", "max_net_notional": "20000", "default_fee": "0.0005"}


def _leg(side: Side, venue: str, quantity: str, price: str | None = "60000") -> OrderIntent:
    return make_intent(
        "BTC/USDT",
        side,
        quantity,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        price=price,
        venue=venue,
    ).model_copy(update={"policy": "arbitrage"})


def test_a_leg_that_no_other_venue_quotes_has_no_spread_to_pay() -> None:
    alone = InMemoryMarketView(
        [make_instrument("BTC/USDT", "alpha", lot_size="0.001", min_notional="5")], now=NOW
    )
    alone.update(book("BTC/USDT", "alpha", bids=[("59990", "1")], asks=[("60000", "1")]))
    guard = ArbitrageGuard.from_config({**LIMITS, "min_edge_bps": "5"})
    verdict = guard.check(_leg(Side.BUY, "alpha", "0.1"), base_context(alone).build())
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "the BTC/USDT spread no longer pays: no other venue quotes it, below 5 bps"
    )
    assert verdict.figures["edge_bps"] == "n/a"


def test_a_closed_spread_is_refused_with_its_edge_after_fees() -> None:
    guard = ArbitrageGuard.from_config({**LIMITS, "min_edge_bps": "5", "default_fee": "0.002"})
    context = base_context(arbitrage_market(), reference=None).build()
    verdict = guard.check(_leg(Side.BUY, "alpha", "0.1"), context)
    # Bid 60,200 on beta over 60,000: 33.33 bps gross, less 2 x 20 bps of fees.
    assert verdict.reason == (
        "the BTC/USDT spread no longer pays: edge -6.67 bps after fees, below 5 bps"
    )


def test_a_leg_without_a_price_anywhere_cannot_be_valued() -> None:
    empty = InMemoryMarketView(
        [make_instrument("BTC/USDT", "alpha", lot_size="0.001")], now=NOW
    )
    guard = ArbitrageGuard.from_config(LIMITS)
    verdict = guard.check(
        _leg(Side.BUY, "alpha", "0.1", price=None), base_context(empty, reference=None).build()
    )
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason.startswith("cannot value the leg: ")
    assert "BTC/USDT" in verdict.reason


def test_the_gross_limit_resizes_a_leg_that_the_net_limit_would_allow() -> None:
    guard = ArbitrageGuard.from_config({**LIMITS, "max_gross_notional": "15000"})
    # Long 0.1 on alpha, short 0.1 on beta: net 0, gross 0.2 BTC = 12,000 USDT.
    context = (
        base_context(arbitrage_market(), reference=None)
        .with_position("BTC/USDT", "0.1", "60000", venue="alpha")
        .with_position("BTC/USDT", "-0.1", "60000", venue="beta")
        .build()
    )
    verdict = guard.check(_leg(Side.BUY, "alpha", "0.1"), context)
    # Gross room: 15,000 / 60,000 - 0.2 = 0.05 BTC.
    assert (verdict.action, verdict.quantity) == (VerdictAction.RESIZE, Decimal("0.05"))
    assert verdict.reason == (
        "buy leg of 0.1 BTC/USDT (6,000 USDT) breaks the gross limit; resized to 0.05 "
        "(size the other leg the same)"
    )
    assert verdict.figures["gross_after"] == "18000.00"


def test_a_book_already_at_its_gross_limit_gets_no_size() -> None:
    guard = ArbitrageGuard.from_config({**LIMITS, "max_gross_notional": "12000"})
    context = (
        base_context(arbitrage_market(), reference=None)
        .with_position("BTC/USDT", "0.1", "60000", venue="alpha")
        .with_position("BTC/USDT", "-0.1", "60000", venue="beta")
        .build()
    )
    verdict = guard.check(_leg(Side.SELL, "beta", "0.01", price="60200"), context)
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "sell leg of 0.01 BTC/USDT (602 USDT) breaks the gross limit; no size fits"
    )
