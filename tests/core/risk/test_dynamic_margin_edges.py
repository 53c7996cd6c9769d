"""The dynamic-margin rule where its limit cannot be applied as usual: orders that only
reduce, too little history, an order it cannot value, and a position already over the
limit. Each verdict's action and reason are checked as the decision record shows them.
"""

from __future__ import annotations

from crypto_bot_core.builtins.risk_engine import DynamicMargin
from crypto_bot_sdk import Side, VerdictAction
from crypto_bot_sdk.testing import make_intent

from .rule_markets import base_context, ranged_bars, view_of

RULE = {"base_notional": "10000", "target_atr": "0.02"}


def test_an_order_that_only_reduces_is_approved_without_asking_the_volatility() -> None:
    rule = DynamicMargin.from_config(RULE)
    # No bars at all: the ATR is unknown, yet selling part of a long adds no risk.
    long = base_context(view_of([])).with_position("BTC/USDT", "0.5", "60000", venue="alpha")
    verdict = rule.check(make_intent("BTC/USDT", Side.SELL, "0.2", venue="alpha"), long.build())
    assert verdict.action is VerdictAction.APPROVE
    assert verdict.reason == "only reduces the BTC/USDT position"


def test_too_little_history_is_approved_or_rejected_as_configured() -> None:
    few = base_context(view_of(ranged_bars(0.04, count=5))).build()
    order = make_intent("BTC/USDT", Side.BUY, "0.01", venue="alpha")
    rejected = DynamicMargin.from_config(RULE).check(order, few)
    assert rejected.action is VerdictAction.REJECT
    assert rejected.reason == (
        "5 bars of BTC/USDT: ATR(14) needs 15; no new risk without a volatility"
    )
    lenient = DynamicMargin.from_config({**RULE, "missing_history": "approve", "atr_period": 7})
    approved = lenient.check(order, few)
    assert approved.action is VerdictAction.APPROVE
    assert approved.reason == "5 bars of BTC/USDT: ATR(7) needs 8; allowed by configuration"


def test_an_order_it_cannot_value_is_rejected_saying_why() -> None:
    # BTC quoted in EUR, a USDT portfolio and no EUR/USDT price: no rate to value it with.
    eur_bars = [bar.model_copy(update={"symbol": "BTC/EUR"}) for bar in ranged_bars(0.04)]
    context = base_context(view_of(eur_bars)).build()
    rule = DynamicMargin.from_config(RULE)
    verdict = rule.check(make_intent("BTC/EUR", Side.BUY, "0.01", venue="alpha"), context)
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "cannot value the order: cannot convert EUR into the portfolio currency USDT: "
        "the market view has no price for EUR/USDT or USDT/EUR"
    )


def test_a_position_already_over_the_limit_gets_no_size_at_all() -> None:
    rule = DynamicMargin.from_config(RULE)
    # ATR 4% against 2%: the limit is 5,000 USDT; 0.2 BTC long is already 12,000.
    context = (
        base_context(view_of(ranged_bars(0.04)))
        .with_position("BTC/USDT", "0.2", "60000", venue="alpha")
        .build()
    )
    verdict = rule.check(make_intent("BTC/USDT", Side.BUY, "0.01", venue="alpha"), context)
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "BTC/USDT ATR 4.00% against target 2.00% sets the limit at 5,000 USDT (x0.50); "
        "exposure after the order 12,600 USDT: over the limit, no size fits"
    )
    assert verdict.figures["exposure_after"] == "12600.00"
