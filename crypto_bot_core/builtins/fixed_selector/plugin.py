"""Entry point of ``fixed-selector``: the module the ``crypto_bot.plugins`` entry point names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.fixed_selector.selector import FixedSelector
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [FixedSelector]
