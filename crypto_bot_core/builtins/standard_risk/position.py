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
    APPROVE,
    REJECT,
    RESIZE,
    ValuationError,
    reduces_position,
    show,
    show_qty,
    value_intent,
    verdict,
)
from crypto_bot_sdk import OrderIntent, RiskContext, RiskRule, RiskVerdict, parse_symbol

_ZERO = Decimal(0)


class MaxPosition(RiskRule[MaxPositionConfig]):
    """Caps |net position| per symbol, by quantity and/or value; resizes down when it can."""

    name = "max_position"
    config_model = MaxPositionConfig

    def __init__(self, config: MaxPositionConfig) -> None:
        super().__init__(config)
        notional = config.max_notional
        # The notional limit's two texts (figure and words), written once.
        self._notional_texts = None if notional is None else (format(notional, "f"), show(notional))

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        symbol = intent.symbol
        net = context.portfolio.net_quantity(symbol)
        if reduces_position(intent, net):
            return verdict(self.name, APPROVE, f"reduces the {symbol} position of {show_qty(net)}")
        if cfg.max_notional is None and symbol not in cfg.max_quantity:
            return verdict(self.name, APPROVE, f"no position limit set for {symbol}")
        try:
            valued = value_intent(intent, context)
        except ValuationError as exc:
            return verdict(self.name, REJECT, f"cannot check the position: {exc}")
        side = intent.side
        sign = side.sign
        pending = _ZERO
        if cfg.count_open_orders:
            pending = sum(
                (
                    order.remaining_quantity
                    for order in context.open_orders
                    if order.symbol == symbol and order.request.side is side
                ),
                _ZERO,
            )
        worst = net + sign * pending
        limits = []
        if symbol in cfg.max_quantity:
            limits.append(cfg.max_quantity[symbol])
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
        notional_texts = self._notional_texts
        if notional_texts is not None:
            figures["limit_notional"] = notional_texts[0]
        if abs(after) <= limit:
            return verdict(
                self.name,
                APPROVE,
                f"{symbol} position after the order {show_qty(after)} is within "
                f"the limit {show_qty(limit)}",
                figures,
            )
        allowed = valued.round_down(limit - sign * worst)
        over = (
            f"{symbol} position would be {show_qty(after)} (now {show_qty(net)}, "
            f"{show_qty(pending)} more pending), beyond the limit {show_qty(limit)}"
        )
        if notional_texts is not None:
            over += f" ({notional_texts[1]} {valued.currency} at {show(valued.price)})"
        if allowed <= 0 or valued.below_minimum(allowed):
            return verdict(self.name, REJECT, f"{over}; no size fits", figures)
        figures["resized_quantity"] = format(allowed, "f")
        return verdict(
            self.name,
            RESIZE,
            f"{over}; resized to {show_qty(allowed)} {parse_symbol(symbol)[0]}",
            figures,
            allowed,
        )
