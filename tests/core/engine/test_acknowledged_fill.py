"""A fill for an order the venue has not acknowledged yet is booked in one step that gives
the order the SDK's three steps (submitted, acknowledged, filled) give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crypto_bot_core.engine.lifecycle import acknowledged_and_filled
from crypto_bot_sdk import Fill, Order, OrderError, OrderRequest, OrderStatus, Side

TS = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _order(quantity: str = "1.0") -> Order:
    request = OrderRequest(
        client_order_id="cb-000001",
        venue="alpha",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=Decimal(quantity),
        intent_id="i-1",
    )
    return Order(request=request, created_at=TS, updated_at=TS)


def _fill(quantity: str, *, ts: datetime = TS, exchange_order_id: str | None = "alpha-1") -> Fill:
    return Fill(
        fill_id="f1",
        client_order_id="cb-000001",
        exchange_order_id=exchange_order_id,
        symbol="BTC/USDT",
        venue="alpha",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal("100.5"),
        fee=Decimal("0.01"),
        ts=ts,
    )


def _sdk_steps(order: Order, fill: Fill) -> Order:
    if order.status is OrderStatus.CREATED:
        order = order.transition(OrderStatus.SUBMITTED, ts=fill.ts)
    order = order.transition(OrderStatus.ACKNOWLEDGED, ts=fill.ts)
    return order.apply_fill(fill)


@pytest.mark.parametrize("submitted", [False, True], ids=["created", "submitted"])
@pytest.mark.parametrize("quantity", ["1.0", "0.4"], ids=["whole", "part"])
@pytest.mark.parametrize("exchange_order_id", ["alpha-1", None])
def test_one_step_equals_the_sdks_steps(
    submitted: bool, quantity: str, exchange_order_id: str | None
) -> None:
    order = _order()
    if submitted:
        order = order.transition(OrderStatus.SUBMITTED, ts=TS)
    later = TS + timedelta(seconds=3)
    fill = _fill(quantity, ts=later, exchange_order_id=exchange_order_id)
    ours, sdk = acknowledged_and_filled(order, fill), _sdk_steps(order, fill)
    assert ours == sdk
    assert ours.__pydantic_fields_set__ >= {"status", "updated_at", "filled_quantity"}
    assert ours.status is (
        OrderStatus.FILLED if quantity == "1.0" else OrderStatus.PARTIALLY_FILLED
    )


def test_a_time_in_another_zone_is_kept_in_utc() -> None:
    there = datetime(2024, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    fill = _fill("1.0").model_copy(update={"ts": there})
    ours = acknowledged_and_filled(_order(), fill)
    assert ours.updated_at == TS
    assert ours.updated_at.tzinfo is UTC


def test_what_the_lifecycle_forbids_raises_the_sdks_error() -> None:
    with pytest.raises(OrderError, match="would overfill"):
        acknowledged_and_filled(_order("0.5"), _fill("1.0"))
