"""Entry point of ``standard-reporters``, the module its ``crypto_bot.plugins`` entry names."""

from __future__ import annotations

from typing import Any

from crypto_bot_core.builtins.standard_reporters.best_execution import BestExecutionReporter
from crypto_bot_core.builtins.standard_reporters.daily_trades import DailyTradesReporter
from crypto_bot_core.builtins.standard_reporters.mifir import MifirTransactionReporter
from crypto_bot_core.builtins.standard_reporters.venue_summary import VenueSummaryReporter
from crypto_bot_sdk import Component, hookimpl


@hookimpl
def cryptobot_components() -> list[type[Component[Any]]]:
    return [
        DailyTradesReporter,
        BestExecutionReporter,
        VenueSummaryReporter,
        MifirTransactionReporter,
    ]
