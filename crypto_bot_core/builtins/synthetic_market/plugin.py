"""Entry point of ``synthetic-market``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.synthetic_market.source import SyntheticMarket
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [SyntheticMarket]
