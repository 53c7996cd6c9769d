"""``risk_monitor``: VaR, expected shortfall and stress losses against limits, as alerts.

The engine reviews oversight components every tick; the monitor checks the book
only when ``every`` of market time has passed since its last check (a Monte-Carlo
VaR per bar would cost more than the whole backtest). It alerts when a metric
crosses its limit (high) and when it comes back (info), never once per check in
between: :class:`~crypto_bot_core.risk.monitor.RiskMonitor` remembers what is in
breach. It proposes no trades.
"""

from __future__ import annotations

from datetime import datetime

from crypto_bot_core.builtins.standard_oversight.config import RiskMonitorConfig
from crypto_bot_core.risk.monitor import RiskMonitor
from crypto_bot_sdk import Oversight, OversightContext, OversightOutcome


class RiskMonitorWatch(Oversight[RiskMonitorConfig]):
    """Checks the portfolio's risk limits every ``every``; one alert per crossing."""

    name = "risk_monitor"
    config_model = RiskMonitorConfig

    def __init__(self, config: RiskMonitorConfig) -> None:
        super().__init__(config)
        self._monitor = RiskMonitor(config, source=self.name)
        self._last_check: datetime | None = None

    async def review(self, context: OversightContext) -> OversightOutcome:
        last = self._last_check
        if last is not None and context.ts - last < self.config.every:
            return OversightOutcome()
        self._last_check = context.ts
        alerts = self._monitor.evaluate(context.portfolio, context.market)
        return OversightOutcome(alerts=tuple(alerts))
