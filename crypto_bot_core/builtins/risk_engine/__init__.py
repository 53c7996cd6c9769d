"""Built-in plugin ``risk-engine``: the portfolio-level risk checks of the risk engine.

``portfolio_var`` (Monte-Carlo VaR/ES budget), ``stress_limit`` (worst
scenario loss), ``liquidity_guard`` (slippage from book depth),
``dynamic_margin`` (exposure scaled by inverse ATR) and ``arbitrage_guard``
(limits of cross-venue arbitrage legs). Each is a pure check that approves,
resizes or rejects an intent and says why, with the figures. The analytics
behind them live in :mod:`crypto_bot_core.risk`. See
``docs/builtins/risk_engine.md`` and ``docs/risk.md``.
"""

from crypto_bot_core.builtins.risk_engine.arbitrage_guard import ArbitrageGuard
from crypto_bot_core.builtins.risk_engine.dynamic_margin import DynamicMargin
from crypto_bot_core.builtins.risk_engine.liquidity_guard import LiquidityGuard
from crypto_bot_core.builtins.risk_engine.stress_limit import StressLimit
from crypto_bot_core.builtins.risk_engine.var_budget import PortfolioVar

__all__ = ["ArbitrageGuard", "DynamicMargin", "LiquidityGuard", "PortfolioVar", "StressLimit"]
