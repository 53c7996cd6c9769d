"""``max_order_notional``: no single order worth more than the limit (a fat-finger guard).

It applies to reduce-only orders too: a mistyped size is a mistake whichever
way it points. An order over the limit is cut to the largest size on the lot
grid that fits, or rejected when even that is below the venue's minimum.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.standard_risk.config import MaxOrderNotionalConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    APPROVE,
    REJECT,
    RESIZE,
    ValuationError,
    show,
    show_qty,
    value_intent,
    verdict,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol


class MaxOrderNotional(RiskRule[MaxOrderNotionalConfig]):
    """Caps the value of one order; resizes down when it can."""

    name = "max_order_notional"
    config_model = MaxOrderNotionalConfig

    def __init__(self, config: MaxOrderNotionalConfig) -> None:
        super().__init__(config)
        # Each limit with its two texts (the figure and the words), written once.
        self._limits: dict[str | None, tuple[Decimal, str, str]] = {
            symbol: (limit, format(limit, "f"), show(limit))
            for symbol, limit in ((None, config.limit), *config.per_symbol.items())
        }

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        try:
            valued = value_intent(intent, context)
        except ValuationError as exc:
            return verdict(self.name, REJECT, f"cannot check the order's value: {exc}")
        limits = self._limits
        limit, limit_text, limit_shown = limits.get(intent.symbol) or limits[None]
        notional = valued.value(intent.quantity)
        ccy = valued.currency
        figures = {
            "notional": format(notional, "f"),
            "limit": limit_text,
            "price": format(valued.price, "f"),
            "price_source": valued.source,
        }
        if notional <= limit:
            return verdict(
                self.name,
                APPROVE,
                f"order notional {show(notional)} {ccy} is within the limit {limit_shown} {ccy}",
                figures,
            )
        allowed = valued.quantity_for(limit)
        base = parse_symbol(intent.symbol)[0]
        over = f"order notional {show(notional)} {ccy} exceeds the limit {limit_shown} {ccy}"
        if allowed <= 0 or valued.below_minimum(allowed):
            return verdict(
                self.name,
                REJECT,
                f"{over}; the largest size within it ({show_qty(allowed)} {base}) is below the "
                "venue's lot or minimum order value",
                figures,
            )
        figures["resized_quantity"] = format(allowed, "f")
        return verdict(
            self.name, RESIZE, f"{over}; resized to {show_qty(allowed)} {base}", figures, allowed
        )
