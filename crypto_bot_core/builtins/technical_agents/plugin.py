"""Entry point of ``technical-agents``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.technical_agents.ema_crossover import EmaCrossoverAgent
from crypto_bot_core.builtins.technical_agents.momentum_breakout import MomentumBreakoutAgent
from crypto_bot_core.builtins.technical_agents.rsi_mean_reversion import RsiMeanReversionAgent
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [EmaCrossoverAgent, RsiMeanReversionAgent, MomentumBreakoutAgent]
