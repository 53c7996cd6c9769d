"""A volatility shock in a stress scenario scales the VaR model, and the stress report
shows VaR and ES before and after it.

With normal marginals and the same Monte-Carlo draws, doubling every asset's volatility
must double VaR and ES exactly: the shock scales each marginal, nothing else.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_core.app.risk_report import cents, render_stress
from crypto_bot_core.risk.portfolio_var import VarSettings
from crypto_bot_core.risk.returns import returns_from_market
from crypto_bot_core.risk.scenario_file import parse_scenario
from crypto_bot_core.risk.stress import stress
from crypto_bot_sdk import PortfolioSnapshot, Position

from .risk_helpers import NOW
from .rule_markets import returns_market


def test_doubling_volatility_doubles_var_and_es_and_the_report_says_so() -> None:
    market = returns_market()
    book = PortfolioSnapshot(
        ts=NOW,
        positions=(
            Position(
                symbol="BTC/USDT",
                venue="alpha",
                quantity=Decimal(1),
                average_entry_price=Decimal(60000),
                mark_price=Decimal(60000),
            ),
        ),
        equity=Decimal(100000),
    )
    scenario = parse_scenario(
        'name: vol\nshocks:\n  - volatility: {symbols: "*", multiplier: 2}\n', source="vol.yaml"
    )
    result = stress(
        book,
        scenario,
        market,
        history=returns_from_market(market, ["BTC/USDT"], lookback=250),
        var_settings=VarSettings(paths=2000, copula="gaussian", marginal="normal"),
    )
    assert result.var is not None
    assert result.stressed_var is not None
    assert result.stressed_var.var == pytest.approx(2 * result.var.var, rel=1e-6)
    assert result.stressed_var.es == pytest.approx(2 * result.var.es, rel=1e-6)
    assert result.total_pnl == Decimal(0)  # a volatility shock moves no price
    last = render_stress(result, "table").splitlines()[-1]
    assert last == (
        f"VaR {cents(result.var.var)} -> stressed {cents(result.stressed_var.var)} USDT; "
        f"ES {cents(result.var.es)} -> stressed {cents(result.stressed_var.es)} USDT"
    )
