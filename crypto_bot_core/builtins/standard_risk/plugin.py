"""Entry point of ``standard-risk``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.standard_risk.drawdown import MaxDrawdown
from crypto_bot_core.builtins.standard_risk.exposure import MaxGrossExposure
from crypto_bot_core.builtins.standard_risk.order_notional import MaxOrderNotional
from crypto_bot_core.builtins.standard_risk.position import MaxPosition
from crypto_bot_core.builtins.standard_risk.price_band import PriceBand
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [MaxOrderNotional, MaxPosition, MaxGrossExposure, MaxDrawdown, PriceBand]
