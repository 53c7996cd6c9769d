"""The order state machine: every move in ORDER_TRANSITIONS is accepted, every other one
refused, and fills keep quantities and average prices exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest

from crypto_bot_sdk import (
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    Fill,
    IllegalTransitionError,
    Order,
    OrderError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)

T0 = datetime(2024, 5, 1, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)

REQUEST = OrderRequest(
    client_order_id="o-1", venue="v", symbol="BTC/USDT", side=Side.BUY,
    order_type=OrderType.LIMIT, quantity=Decimal("1.0"), price=Decimal(100),
)

ALL_MOVES = list(product(OrderStatus, OrderStatus))
LEGAL = [(a, b) for a, b in ALL_MOVES if b in ORDER_TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_MOVES if b not in ORDER_TRANSITIONS[a]]


def order_in(status: OrderStatus, *, fully_filled: bool = False) -> Order:
    """An order sitting in ``status``; fully filled when the move under test ends in FILLED."""
    filled = fully_filled or status is OrderStatus.FILLED
    return Order(
        request=REQUEST, status=status, created_at=T0, updated_at=T0,
        filled_quantity=REQUEST.quantity if filled else Decimal(0),
        average_fill_price=Decimal(100) if filled else None,
    )


def fill(quantity: str, price: str, fill_id: str = "f", **changes: object) -> Fill:
    values: dict[str, object] = {
        "fill_id": fill_id, "client_order_id": "o-1", "symbol": "BTC/USDT", "venue": "v",
        "side": Side.BUY, "quantity": Decimal(quantity), "price": Decimal(price),
        "fee": Decimal("0.01"), "ts": LATER, **changes,
    }
    return Fill.model_validate(values)


def test_table_covers_every_status_and_terminals_have_no_exit() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderStatus)
    assert {s for s, exits in ORDER_TRANSITIONS.items() if not exits} == TERMINAL_STATUSES
    assert {s for s in OrderStatus if s.is_terminal} == TERMINAL_STATUSES
    assert len(LEGAL) == 25  # pinned so that a change to the lifecycle is deliberate


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_is_accepted(source: OrderStatus, target: OrderStatus) -> None:
    order = order_in(source, fully_filled=target is OrderStatus.FILLED)
    assert order.can_transition(target)
    moved = order.transition(target, ts=LATER, reason="venue said so", exchange_order_id="x9")
    assert (moved.status, moved.updated_at, moved.created_at) == (target, LATER, T0)
    assert (moved.reason, moved.exchange_order_id) == ("venue said so", "x9")
    assert order.status is source  # the original is untouched


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused(source: OrderStatus, target: OrderStatus) -> None:
    order = order_in(source)
    assert not order.can_transition(target)
    with pytest.raises(IllegalTransitionError) as caught:
        order.transition(target, ts=LATER)
    message = str(caught.value)
    assert f"order o-1: cannot go from {source.value} to {target.value}" in message
    assert f"(allowed from {source.value}: " in message


def test_filled_status_needs_the_full_quantity() -> None:
    with pytest.raises(ValueError, match=r"is 'filled' with only 0 of 1\.0 executed"):
        order_in(OrderStatus.ACKNOWLEDGED).transition(OrderStatus.FILLED, ts=LATER)


def test_fills_accumulate_with_exact_average_price_and_fees() -> None:
    order = order_in(OrderStatus.ACKNOWLEDGED)
    first = order.apply_fill(fill("0.4", "100", "f1", exchange_order_id="x1"))
    assert first.status is OrderStatus.PARTIALLY_FILLED
    assert (first.filled_quantity, first.remaining_quantity) == (Decimal("0.4"), Decimal("0.6"))
    assert first.average_fill_price == Decimal(100)
    assert first.exchange_order_id == "x1"
    done = first.apply_fill(fill("0.6", "101", "f2"))
    assert done.status is OrderStatus.FILLED
    assert done.filled_quantity == Decimal("1.0")
    assert done.average_fill_price == Decimal("100.6")  # (0.4*100 + 0.6*101) / 1.0
    assert done.fees == Decimal("0.02")
    assert done.updated_at == LATER


def test_average_price_of_thirds_stays_a_decimal() -> None:
    order = order_in(OrderStatus.ACKNOWLEDGED)
    for index, price in enumerate(("100", "100.01", "100.02")):
        order = order.apply_fill(fill("0.3", price, f"f{index}"))
    assert order.average_fill_price == Decimal("100.01")
    assert isinstance(order.average_fill_price, Decimal)


def test_overfill_is_refused() -> None:
    order = order_in(OrderStatus.ACKNOWLEDGED).apply_fill(fill("0.7", "100", "f1"))
    with pytest.raises(OrderError, match=r"fill f2 of 0\.4 would overfill order o-1 "
                       r"\(0\.7 of 1\.0 already filled\)"):
        order.apply_fill(fill("0.4", "100", "f2"))
    with pytest.raises(ValueError, match=r"filled 1\.5 exceeds quantity 1\.0"):
        Order(request=REQUEST, created_at=T0, updated_at=T0, filled_quantity=Decimal("1.5"),
              average_fill_price=Decimal(1))


def test_fill_of_another_order_or_side_is_refused() -> None:
    order = order_in(OrderStatus.ACKNOWLEDGED)
    with pytest.raises(OrderError, match="fill f belongs to order o-2, not o-1"):
        order.apply_fill(fill("0.1", "100", client_order_id="o-2"))
    with pytest.raises(OrderError, match=r"\(sell BTC/USDT\) does not match order o-1 "
                       r"\(buy BTC/USDT\)"):
        order.apply_fill(fill("0.1", "100", side=Side.SELL))


@pytest.mark.parametrize("status", [OrderStatus.CREATED, OrderStatus.CANCELLED,
                                    OrderStatus.REJECTED, OrderStatus.EXPIRED])
def test_fill_where_the_lifecycle_allows_none_is_refused(status: OrderStatus) -> None:
    with pytest.raises(IllegalTransitionError, match=f"cannot go from {status.value} to"):
        order_in(status).apply_fill(fill("0.1", "100"))


def test_fill_racing_a_cancel_is_accepted() -> None:
    pending = order_in(OrderStatus.PENDING_CANCEL)
    assert pending.apply_fill(fill("1.0", "99")).status is OrderStatus.FILLED
