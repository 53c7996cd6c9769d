"""Order lifecycle steps for orders the engine built itself, without re-validating them.

The SDK's :meth:`Order.transition` and :meth:`Order.apply_fill` rebuild and
re-validate the whole order (nested request included) on every step: ~40 us,
four steps an order, which dominated a backtest's decision cost. The engine's
orders are built from its own validated parts and change by the SDK's rules,
so here each step asks the SDK's transition table (``can_transition``) and
copies the order with the change; anything the lifecycle forbids - an illegal
move, a fill for another order or beyond the quantity - is handed to the SDK
method itself, which raises its own error. ``tests/core/engine/test_lifecycle.py``
checks the results equal the SDK's, step by step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crypto_bot_core.support.trusted import replace
from crypto_bot_sdk import Fill, Order, OrderStatus

ZERO = Decimal(0)


def moved(order: Order, status: OrderStatus, ts: datetime, **update: Any) -> Order:
    """``order.transition(status, ts=ts, ...)`` for a trusted order and update."""
    if not order.can_transition(status) or ts.utcoffset() is None:
        return order.transition(status, ts=ts, **update)  # raises the SDK's error
    update["status"] = status
    update["updated_at"] = ts if ts.tzinfo is UTC else ts.astimezone(UTC)
    return replace(order, **update)


def filled(order: Order, fill: Fill) -> Order:
    """``order.apply_fill(fill)`` for a trusted order and fill."""
    request = order.request
    new_filled = order.filled_quantity + fill.quantity
    if (
        fill.client_order_id != request.client_order_id
        or fill.side is not request.side
        or fill.symbol != request.symbol
        or new_filled > request.quantity
    ):
        return order.apply_fill(fill)  # the SDK names what is wrong
    status = OrderStatus.FILLED if new_filled == request.quantity else OrderStatus.PARTIALLY_FILLED
    if not order.can_transition(status) or fill.ts.utcoffset() is None:
        return order.apply_fill(fill)
    previous_value = (order.average_fill_price or ZERO) * order.filled_quantity
    update: dict[str, Any] = {
        "filled_quantity": new_filled,
        "average_fill_price": (previous_value + fill.quantity * fill.price) / new_filled,
        "fees": order.fees + fill.fee,
    }
    if fill.exchange_order_id is not None:
        update["exchange_order_id"] = fill.exchange_order_id
    return moved(order, status, fill.ts, **update)
