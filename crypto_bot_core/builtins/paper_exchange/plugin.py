"""Entry point of the ``paper-exchange`` plugin: the core registers it like any other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crypto_bot_core.builtins.paper_exchange.exchange import PaperExchange
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> Sequence[type[Component[Any]]]:
    return [PaperExchange]
