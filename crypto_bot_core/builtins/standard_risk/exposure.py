"""``max_gross_exposure``: the sum of absolute position values stays within the limit.

Gross exposure is the sum over positions of |quantity| x mark price (entry
price when no mark is known) x contract size, in the portfolio currency; the
limit is ``max_gross_notional``, ``max_leverage`` x equity, or the smaller of
the two. An order that lowers gross exposure always passes; one that would
break the limit is cut to the largest size that fits.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.standard_risk.config import MaxGrossExposureConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    ValuationError,
    position_value,
    reduces_position,
    show,
    show_qty,
    value_intent,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol


class MaxGrossExposure(RiskRule[MaxGrossExposureConfig]):
    """Caps gross exposure in money or as leverage on equity; resizes down when it can."""

    name = "max_gross_exposure"
    config_model = MaxGrossExposureConfig

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        portfolio = context.portfolio
        net = portfolio.net_quantity(intent.symbol)
        if reduces_position(intent, net):
            return RiskVerdict.approve(self.name, f"reduces gross exposure ({intent.symbol})")
        try:
            valued = value_intent(intent, context)
            gross = sum(
                (
                    position_value(
                        context,
                        p.symbol,
                        p.quantity,
                        p.mark_price or p.average_entry_price or Decimal(0),
                    )
                    for p in portfolio.positions
                ),
                Decimal(0),
            )
        except ValuationError as exc:
            return RiskVerdict.reject(self.name, f"cannot value the exposure: {exc}")
        limits = []
        if cfg.max_gross_notional is not None:
            limits.append(cfg.max_gross_notional)
        if cfg.max_leverage is not None:
            limits.append(max(Decimal(0), cfg.max_leverage * portfolio.equity))
        limit = min(limits)
        sign = intent.side.sign
        unit = valued.value(Decimal(1))
        added = (abs(net + sign * intent.quantity) - abs(net)) * unit
        ccy = valued.currency
        figures = {
            "gross_exposure": format(gross, "f"),
            "gross_after": format(gross + added, "f"),
            "limit": format(limit, "f"),
            "equity": format(portfolio.equity, "f"),
            "price": format(valued.price, "f"),
        }
        if gross + added <= limit:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"gross exposure after the order {show(gross + added)} {ccy} is within "
                f"the limit {show(limit)} {ccy}",
                figures=figures,
            )
        room = valued.quantity_for(limit - gross) if limit > gross else Decimal(0)
        allowed = valued.round_down(room + abs(net) - sign * net)
        over = (
            f"gross exposure would be {show(gross + added)} {ccy} (now {show(gross)}), beyond "
            f"the limit {show(limit)} {ccy}"
        )
        if allowed <= 0 or valued.below_minimum(allowed):
            return RiskVerdict.reject(self.name, f"{over}; no size fits", **figures)
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{over}; resized to {show_qty(allowed)} {parse_symbol(intent.symbol)[0]}",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
