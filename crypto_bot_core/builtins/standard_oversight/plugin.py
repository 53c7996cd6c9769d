"""Entry point of ``standard-oversight``: the module the ``crypto_bot.plugins`` entry point
names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.standard_oversight.arbitrage import ArbitragePairs
from crypto_bot_core.builtins.standard_oversight.risk_monitor import RiskMonitorWatch
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [RiskMonitorWatch, ArbitragePairs]
