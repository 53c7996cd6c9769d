"""Built-in plugin ``standard-oversight``: the portfolio watchers, as ``oversight`` components.

``risk_monitor`` compares VaR, expected shortfall and stress losses with their
limits on a schedule and alerts once per crossing; ``arbitrage`` finds
cross-venue spreads beyond fees and proposes hedged pairs, which the engine runs
leg by leg through the risk rules and sends all or none. The analytics behind
them live in :mod:`crypto_bot_core.risk`. The deprecated ``risk_monitor:`` and
``arbitrage:`` config sections are translated into these components. See
``docs/builtins/standard_oversight.md``.
"""

from crypto_bot_core.builtins.standard_oversight.arbitrage import ArbitragePairs
from crypto_bot_core.builtins.standard_oversight.config import (
    ArbitrageConfig,
    RiskMonitorConfig,
)
from crypto_bot_core.builtins.standard_oversight.risk_monitor import RiskMonitorWatch

__all__ = ["ArbitrageConfig", "ArbitragePairs", "RiskMonitorConfig", "RiskMonitorWatch"]
