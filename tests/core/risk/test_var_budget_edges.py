"""The VaR budget rule with too little history, a budget that is a share of equity, a
budget no lot fits, and an empty book whose VaR is zero (never shown as ``-0``).

The reason and figures are what the decision record keeps, so they are checked as text.
"""

from __future__ import annotations

from crypto_bot_core.builtins.risk_engine import PortfolioVar
from crypto_bot_sdk import OrderIntent, Side, VerdictAction
from crypto_bot_sdk.testing import make_intent

from .rule_markets import base_context, returns_market


def _buy(quantity: str) -> OrderIntent:
    return make_intent("BTC/USDT", Side.BUY, quantity, venue="alpha")


def test_fewer_aligned_returns_than_required_is_no_model() -> None:
    rule = PortfolioVar.from_config({"budget": "2500", "paths": 1000})
    context = base_context(returns_market(days=20), reference=None).build()
    verdict = rule.check(_buy("0.05"), context)
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason == (
        "20 aligned returns of ['BTC/USDT'] up to 2024-06-01 00:00, fewer than "
        "min_observations 60; no new risk without a VaR model"
    )


def test_the_tighter_of_the_budget_and_the_share_of_equity_applies() -> None:
    # 2% of 100,000 equity is 2,000: tighter than the 2,500 budget.
    rule = PortfolioVar.from_config({"budget": "2500", "budget_fraction": "0.02", "paths": 1000})
    verdict = rule.check(_buy("0.05"), base_context(returns_market(), reference=None).build())
    assert verdict.action is VerdictAction.APPROVE
    assert verdict.figures["budget"] == "2000.00"
    assert verdict.figures["var_before"] == "0.00"  # an empty book risks nothing
    assert verdict.reason.startswith("99% 1d VAR 0 -> ")
    assert verdict.reason.endswith(" USDT (budget 2,000 USDT): within budget")


def test_a_budget_smaller_than_one_lots_risk_is_a_rejection() -> None:
    rule = PortfolioVar.from_config({"budget": "0.5", "paths": 1000})
    verdict = rule.check(_buy("0.05"), base_context(returns_market(), reference=None).build())
    assert verdict.action is VerdictAction.REJECT
    assert verdict.reason.startswith("99% 1d VAR 0 -> ")
    assert verdict.reason.endswith(
        " USDT (budget 0.5 USDT): no size on the lot grid fits the budget"
    )
