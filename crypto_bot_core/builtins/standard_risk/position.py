"""``max_position``: the net position per symbol (all venues) stays within its limit.

The position counted is the net quantity plus, if ``count_open_orders``, the
unfilled rest of open orders on the intent's side: the worst case if they all
fill. Orders that only shrink the position always pass. An order that would
break the limit is cut to the largest size that keeps the position within it
(a flip from long to short counts the whole way), or rejected when nothing fits.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.standard_risk.config import MaxPositionConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    ValuationError,
    reduces_position,
    show,
    show_qty,
    value_intent,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol


class MaxPosition(RiskRule[MaxPositionConfig]):
    """Caps |net position| per symbol, by quantity and/or value; resizes down when it can."""

    name = "max_position"
    config_model = MaxPositionConfig

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        net = context.portfolio.net_quantity(intent.symbol)
        if reduces_position(intent, net):
            return RiskVerdict.approve(
                self.name, f"reduces the {intent.symbol} position of {show_qty(net)}"
            )
        if cfg.max_notional is None and intent.symbol not in cfg.max_quantity:
            return RiskVerdict.approve(self.name, f"no position limit set for {intent.symbol}")
        try:
            valued = value_intent(intent, context)
        except ValuationError as exc:
            return RiskVerdict.reject(self.name, f"cannot check the position: {exc}")
        sign = intent.side.sign
        pending = Decimal(0)
        if cfg.count_open_orders:
            pending = sum(
                (
                    order.remaining_quantity
                    for order in context.open_orders
                    if order.symbol == intent.symbol and order.request.side is intent.side
                ),
                Decimal(0),
            )
        worst = net + sign * pending
        limits = []
        if intent.symbol in cfg.max_quantity:
            limits.append(cfg.max_quantity[intent.symbol])
        if cfg.max_notional is not None:
            limits.append(valued.quantity_for(cfg.max_notional))
        limit = min(limits)
        after = worst + sign * intent.quantity
        figures = {
            "position": format(net, "f"),
            "open_orders_same_side": format(pending, "f"),
            "position_after": format(after, "f"),
            "limit_quantity": format(limit, "f"),
            "price": format(valued.price, "f"),
        }
        if cfg.max_notional is not None:
            figures["limit_notional"] = format(cfg.max_notional, "f")
        if abs(after) <= limit:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"{intent.symbol} position after the order {show_qty(after)} is within "
                f"the limit {show_qty(limit)}",
                figures=figures,
            )
        allowed = valued.round_down(limit - sign * worst)
        over = (
            f"{intent.symbol} position would be {show_qty(after)} (now {show_qty(net)}, "
            f"{show_qty(pending)} more pending), beyond the limit {show_qty(limit)}"
        )
        if cfg.max_notional is not None:
            over += f" ({show(cfg.max_notional)} {valued.currency} at {show(valued.price)})"
        if allowed <= 0 or valued.below_minimum(allowed):
            return RiskVerdict.reject(self.name, f"{over}; no size fits", **figures)
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{over}; resized to {show_qty(allowed)} {parse_symbol(intent.symbol)[0]}",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
