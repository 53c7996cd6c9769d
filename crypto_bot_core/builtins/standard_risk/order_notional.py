"""``max_order_notional``: no single order worth more than the limit (a fat-finger guard).

It applies to reduce-only orders too: a mistyped size is a mistake whichever
way it points. An order over the limit is cut to the largest size on the lot
grid that fits, or rejected when even that is below the venue's minimum.
"""

from __future__ import annotations

from crypto_bot_core.builtins.standard_risk.config import MaxOrderNotionalConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    ValuationError,
    show,
    show_qty,
    value_intent,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol


class MaxOrderNotional(RiskRule[MaxOrderNotionalConfig]):
    """Caps the value of one order; resizes down when it can."""

    name = "max_order_notional"
    config_model = MaxOrderNotionalConfig

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        try:
            valued = value_intent(intent, context)
        except ValuationError as exc:
            return RiskVerdict.reject(self.name, f"cannot check the order's value: {exc}")
        limit = self.config.per_symbol.get(intent.symbol, self.config.limit)
        notional = valued.value(intent.quantity)
        ccy = valued.currency
        figures = {
            "notional": format(notional, "f"),
            "limit": format(limit, "f"),
            "price": format(valued.price, "f"),
            "price_source": valued.source,
        }
        if notional <= limit:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"order notional {show(notional)} {ccy} is within the limit "
                f"{show(limit)} {ccy}",
                figures=figures,
            )
        allowed = valued.quantity_for(limit)
        base = parse_symbol(intent.symbol)[0]
        over = f"order notional {show(notional)} {ccy} exceeds the limit {show(limit)} {ccy}"
        if allowed <= 0 or valued.below_minimum(allowed):
            return RiskVerdict.reject(
                self.name,
                f"{over}; the largest size within it ({show_qty(allowed)} {base}) is below the "
                "venue's lot or minimum order value",
                **figures,
            )
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{over}; resized to {show_qty(allowed)} {base}",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
