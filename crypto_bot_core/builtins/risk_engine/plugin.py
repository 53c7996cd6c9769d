"""Entry point of ``risk-engine``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.risk_engine.arbitrage_guard import ArbitrageGuard
from crypto_bot_core.builtins.risk_engine.dynamic_margin import DynamicMargin
from crypto_bot_core.builtins.risk_engine.liquidity_guard import LiquidityGuard
from crypto_bot_core.builtins.risk_engine.stress_limit import StressLimit
from crypto_bot_core.builtins.risk_engine.var_budget import PortfolioVar
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [PortfolioVar, StressLimit, LiquidityGuard, DynamicMargin, ArbitrageGuard]
