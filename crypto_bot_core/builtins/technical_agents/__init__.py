"""Built-in plugin ``technical-agents``: rule-based agents on bar indicators.

``ema_crossover`` (trend), ``rsi_mean_reversion`` (mean reversion) and
``momentum_breakout`` (channel breakout). Each signal explains itself in words
with the numbers, and carries the indicator values it used as features. See
``docs/builtins/technical_agents.md``.
"""

from crypto_bot_core.builtins.technical_agents.config import (
    EmaCrossoverConfig,
    MomentumBreakoutConfig,
    RsiMeanReversionConfig,
)
from crypto_bot_core.builtins.technical_agents.ema_crossover import EmaCrossoverAgent
from crypto_bot_core.builtins.technical_agents.momentum_breakout import MomentumBreakoutAgent
from crypto_bot_core.builtins.technical_agents.rsi_mean_reversion import RsiMeanReversionAgent

__all__ = [
    "EmaCrossoverAgent",
    "EmaCrossoverConfig",
    "MomentumBreakoutAgent",
    "MomentumBreakoutConfig",
    "RsiMeanReversionAgent",
    "RsiMeanReversionConfig",
]
