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
    APPROVE,
    REJECT,
    RESIZE,
    ValuationError,
    position_value,
    reduces_position,
    show,
    show_qty,
    value_intent,
    verdict,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol

_ZERO = Decimal(0)
_ONE = Decimal(1)


class MaxGrossExposure(RiskRule[MaxGrossExposureConfig]):
    """Caps gross exposure in money or as leverage on equity; resizes down when it can."""

    name = "max_gross_exposure"
    config_model = MaxGrossExposureConfig

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        portfolio = context.portfolio
        net = portfolio.net_quantity(intent.symbol)
        if reduces_position(intent, net):
            return verdict(self.name, APPROVE, f"reduces gross exposure ({intent.symbol})")
        try:
            valued = value_intent(intent, context)
            gross = _ZERO
            for p in portfolio.positions:
                price = p.mark_price or p.average_entry_price or _ZERO
                gross += position_value(context, p.symbol, p.quantity, price)
        except ValuationError as exc:
            return verdict(self.name, REJECT, f"cannot value the exposure: {exc}")
        equity = portfolio.equity
        limits = []
        if cfg.max_gross_notional is not None:
            limits.append(cfg.max_gross_notional)
        if cfg.max_leverage is not None:
            limits.append(max(_ZERO, cfg.max_leverage * equity))
        limit = min(limits)
        sign = intent.side.sign
        unit = valued.value(_ONE)
        added = (abs(net + sign * intent.quantity) - abs(net)) * unit
        after = gross + added
        ccy = valued.currency
        figures = {
            "gross_exposure": format(gross, "f"),
            "gross_after": format(after, "f"),
            "limit": format(limit, "f"),
            "equity": format(equity, "f"),
            "price": format(valued.price, "f"),
        }
        limit_shown = show(limit)
        if after <= limit:
            return verdict(
                self.name,
                APPROVE,
                f"gross exposure after the order {show(after)} {ccy} is within "
                f"the limit {limit_shown} {ccy}",
                figures,
            )
        room = valued.quantity_for(limit - gross) if limit > gross else _ZERO
        allowed = valued.round_down(room + abs(net) - sign * net)
        over = (
            f"gross exposure would be {show(after)} {ccy} (now {show(gross)}), beyond "
            f"the limit {limit_shown} {ccy}"
        )
        if allowed <= 0 or valued.below_minimum(allowed):
            return verdict(self.name, REJECT, f"{over}; no size fits", figures)
        figures["resized_quantity"] = format(allowed, "f")
        return verdict(
            self.name,
            RESIZE,
            f"{over}; resized to {show_qty(allowed)} {parse_symbol(intent.symbol)[0]}",
            figures,
            allowed,
        )
