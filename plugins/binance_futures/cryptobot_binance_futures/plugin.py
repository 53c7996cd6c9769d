"""Entry point of the ``binance-futures`` plugin (group ``crypto_bot.plugins``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> Sequence[type[Component[Any]]]:
    from cryptobot_binance_futures.exchange import BinanceFuturesExchange

    return [BinanceFuturesExchange]
