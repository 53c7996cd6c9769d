"""The engine's fast order-lifecycle steps refuse exactly what the SDK refuses, with the
SDK's own words: a fill on a cancelled order, a fill beyond the quantity, a move the
lifecycle forbids; and a fill for an acknowledged order takes the same path as the SDK.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crypto_bot_core.engine.lifecycle import acknowledged_and_filled, filled, moved
from crypto_bot_sdk import (
    Fill,
    IllegalTransitionError,
    Order,
    OrderError,
    OrderRequest,
    OrderStatus,
    Side,
)

T0 = datetime(2024, 9, 1, tzinfo=UTC)


def _order(status: OrderStatus = OrderStatus.CREATED) -> Order:
    request = OrderRequest(
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=Decimal(2),
        client_order_id="cb-7",
        venue="alpha",
    )
    order = Order(request=request, created_at=T0, updated_at=T0)
    path = {
        OrderStatus.CREATED: [],
        OrderStatus.SUBMITTED: [OrderStatus.SUBMITTED],
        OrderStatus.ACKNOWLEDGED: [OrderStatus.SUBMITTED, OrderStatus.ACKNOWLEDGED],
        OrderStatus.CANCELLED: [
            OrderStatus.SUBMITTED,
            OrderStatus.ACKNOWLEDGED,
            OrderStatus.CANCELLED,
        ],
    }[status]
    for step in path:
        order = order.transition(step, ts=T0)
    return order


def _fill(quantity: str, fill_id: str = "f1") -> Fill:
    return Fill(
        fill_id=fill_id,
        client_order_id="cb-7",
        symbol="BTC/USDT",
        venue="alpha",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal(100),
        fee=Decimal("0.1"),
        ts=T0 + timedelta(seconds=1),
    )


def test_a_fill_on_a_cancelled_order_is_refused_as_the_sdk_refuses_it() -> None:
    cancelled = _order(OrderStatus.CANCELLED)
    with pytest.raises(IllegalTransitionError) as caught:
        filled(cancelled, _fill("1"))
    assert str(caught.value) == (
        "order cb-7: cannot go from cancelled to partially_filled (allowed from cancelled: none)"
    )


def test_a_fill_beyond_the_quantity_is_refused_with_the_sdks_message() -> None:
    with pytest.raises(OrderError) as caught:
        acknowledged_and_filled(_order(OrderStatus.ACKNOWLEDGED), _fill("3"))
    assert str(caught.value) == (
        "fill f1 of 3 would overfill order cb-7 (0 of 2 already filled)"
    )


def test_a_forbidden_move_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransitionError, match="cannot go from created to filled"):
        moved(_order(), OrderStatus.FILLED, T0)


@pytest.mark.parametrize(
    "status", [OrderStatus.CREATED, OrderStatus.SUBMITTED, OrderStatus.ACKNOWLEDGED]
)
def test_a_fill_gives_the_same_order_as_the_sdks_steps_from_any_open_status(
    status: OrderStatus,
) -> None:
    order = _order(status)
    fill = _fill("0.5")
    expected = order
    if expected.status is OrderStatus.CREATED:
        expected = expected.transition(OrderStatus.SUBMITTED, ts=fill.ts)
    if expected.status is OrderStatus.SUBMITTED:
        expected = expected.transition(OrderStatus.ACKNOWLEDGED, ts=fill.ts)
    expected = expected.apply_fill(fill)
    result = acknowledged_and_filled(order, fill)
    assert result == expected
    assert (result.status, result.filled_quantity, result.average_fill_price, result.fees) == (
        OrderStatus.PARTIALLY_FILLED,
        Decimal("0.5"),
        Decimal(100),
        Decimal("0.1"),
    )
