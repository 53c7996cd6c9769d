"""Risk-engine rules on an order not yet routed to a venue, and on one they cannot value.

The liquidity guard must look at every venue that lists the symbol when the order names
none; the stress limit must refuse, saying why, an order whose currency it cannot convert
rather than project a scenario with a made-up price.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine import LiquidityGuard, StressLimit
from crypto_bot_sdk import Side, VerdictAction
from crypto_bot_sdk.testing import make_intent

from .rule_markets import arbitrage_market, base_context, ranged_bars, view_of


def test_an_unrouted_order_is_measured_against_the_venues_that_list_it() -> None:
    guard = LiquidityGuard.from_config({"max_slippage_bps": "5"})
    context = base_context(arbitrage_market(), reference=None).build()
    small = guard.check(make_intent("BTC/USDT", Side.BUY, "0.1", venue=None), context)
    assert small.action is VerdictAction.APPROVE
    # alpha's ask 60,000 against its mid 59,995: (60,000 - 59,995) / 59,995 = 0.83 bps.
    assert small.reason == (
        "expected slippage of 0.1 BTC/USDT on alpha is 0.83 bps against the mid, within 5 bps"
    )
    large = guard.check(make_intent("BTC/USDT", Side.BUY, "0.9", venue=None), context)
    assert (large.action, large.quantity) == (VerdictAction.RESIZE, Decimal("0.300"))
    assert large.reason == (
        "the alpha book of BTC/USDT takes only 0.3 of 0.9 at once; the limit is 5 bps; "
        "resized to 0.3, the most the book takes within it"
    )


def test_the_stress_limit_refuses_an_order_it_cannot_value() -> None:
    rule = StressLimit.from_config({"scenarios": ["market-crash-30"], "max_loss": "500"})
    eur_bars = [bar.model_copy(update={"symbol": "BTC/EUR"}) for bar in ranged_bars(0.04)]
    verdict = rule.check(
        make_intent("BTC/EUR", Side.BUY, "0.01", venue="alpha"),
        base_context(view_of(eur_bars)).build(),
    )
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "cannot project the scenarios: cannot convert EUR into the portfolio currency USDT: "
        "the market view has no price for EUR/USDT or USDT/EUR"
    )
