"""``max_drawdown``: once equity has fallen the limit below its peak, stop adding risk.

Drawdown is ``(peak - equity) / peak`` with ``peak = max(peak_equity, equity)``.
At or beyond the limit every verdict carries ``figures["kill_switch"] = "trip"``:
the engine latches its kill switch (cancel everything, flatten everything, stop
new orders) when any verdict says so. The rule itself keeps no latch; it is
pure and answers from the portfolio it is shown. Orders that only shrink a
position are still approved so positions can be closed.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.standard_risk.config import MaxDrawdownConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    APPROVE,
    REJECT,
    percent,
    reduces_position,
    show,
    verdict,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict

KILL_SWITCH = "kill_switch"
TRIP = "trip"
_ONE = Decimal(1)


class MaxDrawdown(RiskRule[MaxDrawdownConfig]):
    """Rejects risk-increasing intents beyond the drawdown limit and asks for the kill switch."""

    name = "max_drawdown"
    config_model = MaxDrawdownConfig

    def __init__(self, config: MaxDrawdownConfig) -> None:
        super().__init__(config)
        limit = config.max_drawdown
        # The limit's two texts (figure and words), written once.
        self._limit_text = format(limit, "f")
        self._limit_shown = percent(limit)

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        portfolio = context.portfolio
        equity = portfolio.equity
        peak = max(portfolio.peak_equity if portfolio.peak_equity is not None else equity, equity)
        ccy = portfolio.quote_currency
        drawdown = (peak - equity) / peak if peak > 0 else _ONE
        figures = {
            "drawdown": format(drawdown, "f"),
            "limit": self._limit_text,
            "equity": format(equity, "f"),
            "peak_equity": format(peak, "f"),
        }
        state = (
            f"drawdown {percent(drawdown)} (equity {show(equity)} {ccy}, peak {show(peak)} {ccy})"
        )
        limit_shown = self._limit_shown
        if drawdown < self.config.max_drawdown:
            return verdict(self.name, APPROVE, f"{state} is below the limit {limit_shown}", figures)
        figures[KILL_SWITCH] = TRIP
        breach = f"{state} has reached the limit {limit_shown}; the kill switch should trip"
        if reduces_position(intent, portfolio.net_quantity(intent.symbol)):
            return verdict(
                self.name, APPROVE, f"{breach}; this order only reduces a position", figures
            )
        return verdict(self.name, REJECT, f"{breach}; no new risk", figures)
