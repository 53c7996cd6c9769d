"""The risk-engine rules: what each approves, resizes and refuses, with the figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_core.builtins.risk_engine import (
    ArbitrageGuard,
    DynamicMargin,
    LiquidityGuard,
    PortfolioVar,
    StressLimit,
)
from crypto_bot_sdk import ConfigError, OrderIntent, OrderType, Side, VerdictAction
from crypto_bot_sdk.testing import make_intent

from .rule_markets import (
    arbitrage_market,
    base_context,
    depth_book_market,
    depth_removed,
    ranged_bars,
    returns_market,
    view_of,
)

APPROVE, RESIZE, REJECT = VerdictAction.APPROVE, VerdictAction.RESIZE, VerdictAction.REJECT


def intent(symbol: str = "BTC/USDT", side: Side = Side.BUY, quantity: str = "1") -> OrderIntent:
    """A market intent on alpha, where the test markets list their instruments."""
    return make_intent(symbol, side, quantity, venue="alpha")


# --- liquidity_guard: the 90% depth removal of the issue -------------------------------


def test_with_90pct_of_depth_removed_the_guard_refuses_large_orders_and_passes_small() -> None:
    guard = LiquidityGuard.from_config({"max_slippage_bps": "5", "action": "reject"})
    full = base_context(depth_book_market()).build()
    thin = base_context(depth_removed(depth_book_market())).build()
    big, medium, small = (intent("BTC/USDT", Side.BUY, q) for q in ("2", "0.5", "0.01"))
    # Full depth: 2 BTC fill at 60,012.50 on average, 2.92 bps over the 59,995 mid.
    assert guard.check(big, full).action is APPROVE
    # 10% of the depth left (0.75 BTC of asks): 2 BTC cannot fill; 0.5 BTC would average
    # 60,032 (6.17 bps); 0.01 BTC fills at 60,000 (0.83 bps).
    refused = guard.check(big, thin)
    assert refused.action is REJECT
    assert "takes only 0.75 of 2 at once" in refused.reason
    assert guard.check(medium, thin).action is REJECT
    assert guard.check(medium, thin).figures["slippage_bps"] == "6.17"
    passed = guard.check(small, thin)
    assert passed.action is APPROVE
    assert passed.figures["slippage_bps"] == "0.83"


def test_the_guard_resizes_to_what_the_thinned_book_takes_within_the_limit() -> None:
    guard = LiquidityGuard.from_config({"max_slippage_bps": "5"})
    thin = base_context(depth_removed(depth_book_market())).build()
    verdict = guard.check(intent("BTC/USDT", Side.BUY, "2"), thin)
    # Target average 59,995 x 1.0005 = 60,024.9975: 0.35 BTC average 60,020, and the
    # average reaches the target 0.0499... into the 60,060 level: 0.39997 -> lot 0.399.
    assert verdict.action is RESIZE
    assert verdict.quantity == Decimal("0.399")


def test_non_crossing_limits_pass_and_missing_books_follow_the_setting() -> None:
    guard = LiquidityGuard.from_config({"max_slippage_bps": "5"})
    thin = base_context(depth_removed(depth_book_market())).build()
    resting = make_intent(
        "BTC/USDT", Side.BUY, "50", order_type=OrderType.LIMIT, price="59000", venue="alpha"
    )
    assert guard.check(resting, thin).action is APPROVE
    no_book = intent("ETH/USDT", Side.BUY, "1")
    assert guard.check(no_book, thin).action is REJECT
    lenient = LiquidityGuard.from_config({"max_slippage_bps": "5", "missing_book": "approve"})
    assert lenient.check(no_book, thin).action is APPROVE


# --- portfolio_var ---------------------------------------------------------------------


def var_rule(**settings: object) -> PortfolioVar:
    return PortfolioVar.from_config({"budget": "2500", "paths": 20_000, **settings})


def test_var_budget_approves_within_budget_and_throttles_beyond_it() -> None:
    market = returns_market()
    context = base_context(market, reference=None).with_position("BTC/USDT", "0.5", "60000")
    rule = var_rule()
    small = rule.check(intent("BTC/USDT", Side.BUY, "0.05"), context.build())
    assert small.action is APPROVE
    assert Decimal(small.figures["var_after"]) <= Decimal("2500")
    big = rule.check(intent("BTC/USDT", Side.BUY, "2"), context.build())
    assert big.action is RESIZE
    assert big.quantity is not None
    assert Decimal(0) < big.quantity < Decimal(2)
    assert (
        Decimal(big.figures["var_resized"]) <= Decimal("2500") < Decimal(big.figures["var_after"])
    )
    assert "throttled" in big.reason


def test_var_budget_rejects_new_risk_when_already_over_and_lets_hedges_through() -> None:
    market = returns_market()
    context = base_context(market, reference=None).with_position("BTC/USDT", "3", "60000").build()
    rule = var_rule()
    more = rule.check(intent("ETH/USDT", Side.BUY, "1"), context)
    assert more.action is REJECT
    assert "already at its budget" in more.reason
    # Selling ETH against a BTC long lowers VaR (correlation 0.6), so it passes.
    hedge = rule.check(intent("ETH/USDT", Side.SELL, "5"), context)
    assert hedge.action is APPROVE
    assert Decimal(hedge.figures["var_after"]) < Decimal(hedge.figures["var_before"])
    assert rule.check(intent("BTC/USDT", Side.SELL, "1"), context).action is APPROVE


def test_var_budget_without_history_follows_the_setting() -> None:
    context = base_context(depth_book_market()).build()
    assert var_rule().check(intent(), context).action is REJECT
    assert var_rule(missing_history="approve").check(intent(), context).action is APPROVE


def test_var_budget_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="set budget, budget_fraction or both"):
        PortfolioVar.from_config({})
    with pytest.raises(ConfigError, match="horizon"):
        PortfolioVar.from_config({"budget": "1", "horizon": "1M"})


# --- stress_limit ------------------------------------------------------------------------


def test_stress_limit_resizes_to_the_worst_scenario_loss_limit() -> None:
    rule = StressLimit.from_config({"scenarios": ["market-crash-30"], "max_loss": "10000"})
    context = base_context(depth_book_market()).with_position("BTC/USDT", "0.5", "60000").build()
    assert rule.check(intent("BTC/USDT", Side.BUY, "0.05"), context).action is APPROVE
    verdict = rule.check(intent("BTC/USDT", Side.BUY, "0.1"), context)
    # 30% of (0.5 + q) x 60,000 <= 10,000  ->  q <= 0.0555...  -> lot 0.055.
    assert verdict.action is RESIZE
    assert verdict.quantity == Decimal("0.055")
    assert verdict.figures["loss_after"] == "10800.00"
    assert verdict.figures["worst_scenario"] == "market-crash-30"


def test_stress_limit_lets_hedges_through_and_names_bad_scenarios() -> None:
    rule = StressLimit.from_config(
        {"scenarios": ["market-crash-30", "btc-crash-50"], "max_loss_fraction": "0.1"}
    )
    market = returns_market()  # every coin has a last price to value the intents at
    context = base_context(market, reference=None).with_position("BTC/USDT", "1", "60000").build()
    new_risk = rule.check(intent("SOL/USDT", Side.BUY, "10"), context)
    assert new_risk.action is REJECT
    assert new_risk.figures["scenario"] == "market-crash-30"
    assert new_risk.figures["worst_scenario"] == "btc-crash-50"
    short = make_intent(
        "BTC/USDT:USDT", Side.SELL, "0.5", order_type=OrderType.LIMIT, price="60000", venue="alpha"
    )
    hedged = rule.check(short, context)
    # btc-crash-50 loses 30,000 -> 15,000: still over the 10,000 limit, but lower.
    assert hedged.action is APPROVE
    assert (hedged.figures["loss_before"], hedged.figures["loss_after"]) == ("30000.00", "15000.00")
    with pytest.raises(ConfigError, match="no shipped scenario of that name"):
        StressLimit.from_config({"scenarios": ["crash-99"], "max_loss": "1"})


# --- dynamic_margin ----------------------------------------------------------------------


def test_dynamic_margin_halves_the_limit_when_volatility_doubles() -> None:
    rule = DynamicMargin.from_config({"base_notional": "10000", "target_atr": "0.02"})
    volatile = base_context(view_of(ranged_bars(0.04))).build()
    verdict = rule.check(intent("BTC/USDT", Side.BUY, "0.1"), volatile)
    # ATR 4% against a 2% target: limit 5,000; 0.1 BTC is 6,000 -> 0.0833 -> lot 0.083.
    assert verdict.action is RESIZE
    assert verdict.quantity == Decimal("0.083")
    assert verdict.figures["limit"] == "5000.00"
    calm = base_context(view_of(ranged_bars(0.005))).build()
    approved = rule.check(intent("BTC/USDT", Side.BUY, "0.3"), calm)
    assert approved.action is APPROVE
    assert approved.figures["multiplier"] == "2.0000"  # 4x, bounded by max_multiplier 2


def test_dynamic_margin_needs_enough_bars() -> None:
    rule = DynamicMargin.from_config({"base_notional": "10000", "target_atr": "0.02"})
    few = base_context(view_of(ranged_bars(0.04, count=5))).build()
    assert rule.check(intent("BTC/USDT", Side.BUY, "0.01"), few).action is REJECT


# --- arbitrage_guard ---------------------------------------------------------------------


def leg(side: Side, venue: str, quantity: str, price: str) -> object:
    return make_intent(
        "BTC/USDT", side, quantity, order_type=OrderType.LIMIT, price=price, venue=venue
    ).model_copy(update={"policy": "arbitrage"})


def test_arbitrage_guard_keeps_leg_and_net_limits() -> None:
    guard = ArbitrageGuard.from_config(
        {
            "max_leg_notional": "15000",
            "max_net_notional": "20000",
            "min_edge_bps": "5",
            "default_fee": "0.0005",
        }
    )
    context = base_context(arbitrage_market(), reference=None).build()
    ok = guard.check(leg(Side.BUY, "alpha", "0.2", "60000"), context)  # type: ignore[arg-type]
    assert ok.action is APPROVE
    assert ok.figures["edge_bps"] == "23.33"
    big = guard.check(leg(Side.BUY, "alpha", "0.4", "60000"), context)  # type: ignore[arg-type]
    assert (big.action, big.quantity) == (RESIZE, Decimal("0.25"))
    assert "leg limit" in big.reason
    plain = intent("BTC/USDT", Side.BUY, "5")
    assert guard.check(plain, context).action is APPROVE


def test_arbitrage_guard_refuses_a_closed_spread() -> None:
    guard = ArbitrageGuard.from_config(
        {
            "max_leg_notional": "15000",
            "max_net_notional": "20000",
            "min_edge_bps": "5",
            "default_fee": "0.002",
        }
    )
    context = base_context(arbitrage_market(), reference=None).build()
    verdict = guard.check(leg(Side.BUY, "alpha", "0.1", "60000"), context)  # type: ignore[arg-type]
    assert verdict.action is REJECT
    assert "no longer pays" in verdict.reason
