"""Entry point of ``defi-tvl``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_sdk import Component, hookimpl
from cryptobot_defi_tvl.source import DefiTvlSource


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [DefiTvlSource]
