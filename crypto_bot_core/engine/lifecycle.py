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
from crypto_bot_sdk import ORDER_TRANSITIONS, Fill, Order, OrderStatus

ZERO = Decimal(0)
_UNACKNOWLEDGED = (OrderStatus.CREATED, OrderStatus.SUBMITTED)
_AFTER_ACK = ORDER_TRANSITIONS[OrderStatus.ACKNOWLEDGED]


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


def acknowledged_and_filled(order: Order, fill: Fill) -> Order:
    """``filled(moved(moved(order, SUBMITTED), ACKNOWLEDGED), fill)``, the walk the order
    manager makes when a fill arrives for an order the venue has not yet acknowledged (a
    market order filled at submission), for a created or submitted order, in one copy.

    The steps all take the fill's time, so the intermediate orders differ from the
    result only in what the last step sets; ``tests/core/engine/test_engine_shortcuts.py``
    checks the two give the same order. Anything the lifecycle forbids takes the step by
    step path, which raises the SDK's error.
    """
    ts = fill.ts
    request = order.request
    new_filled = order.filled_quantity + fill.quantity
    if (
        order.status not in _UNACKNOWLEDGED
        or ts.utcoffset() is None
        or fill.client_order_id != request.client_order_id
        or fill.side is not request.side
        or fill.symbol != request.symbol
        or new_filled > request.quantity
    ):
        return _step_by_step(order, fill)
    status = OrderStatus.FILLED if new_filled == request.quantity else OrderStatus.PARTIALLY_FILLED
    if status not in _AFTER_ACK:
        return _step_by_step(order, fill)
    previous_value = (order.average_fill_price or ZERO) * order.filled_quantity
    update: dict[str, Any] = {
        "filled_quantity": new_filled,
        "average_fill_price": (previous_value + fill.quantity * fill.price) / new_filled,
        "fees": order.fees + fill.fee,
        "status": status,
        "updated_at": ts if ts.tzinfo is UTC else ts.astimezone(UTC),
    }
    if fill.exchange_order_id is not None:
        update["exchange_order_id"] = fill.exchange_order_id
    return replace(order, **update)


def _step_by_step(order: Order, fill: Fill) -> Order:
    if order.status is OrderStatus.CREATED:
        order = moved(order, OrderStatus.SUBMITTED, fill.ts)
    if order.status is OrderStatus.SUBMITTED:
        order = moved(order, OrderStatus.ACKNOWLEDGED, fill.ts)
    return filled(order, fill)
