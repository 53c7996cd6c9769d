"""Building blocks of the exchange checks: requests, a started adapter per scenario,
expected errors and fill bookkeeping."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import pytest

from crypto_bot_sdk._contracts import ExchangeAdapter
from crypto_bot_sdk._market import Instrument, Side
from crypto_bot_sdk._orders import Fill, Order, OrderRequest, OrderType
from crypto_bot_sdk.testing._support import ComponentFactory, run_async, started

T = TypeVar("T")

DriveMarket = Callable[[ExchangeAdapter[Any], Instrument], Awaitable[None]]
"""``async (adapter, instrument) -> None``: make the market trade so marketable orders fill."""

PartialFillScenario = Callable[[ExchangeAdapter[Any], Instrument], Awaitable[str]]
"""``async (adapter, instrument) -> client_order_id`` of an order left partially filled."""


async def no_market_activity(adapter: ExchangeAdapter[Any], instrument: Instrument) -> None:
    """The default ``drive_market``: a venue whose orders fill without outside help."""


def new_client_order_id(tag: str) -> str:
    """A fresh id per order, so runs against a stateful sandbox never collide."""
    return f"ck-{tag[:16]}-{uuid.uuid4().hex[:12]}"


def request_for(
    instrument: Instrument,
    quantity: Decimal,
    *,
    tag: str,
    order_type: OrderType = OrderType.LIMIT,
    side: Side = Side.BUY,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
    **flags: Any,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=new_client_order_id(tag),
        venue=instrument.venue,
        symbol=instrument.symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        **flags,
    )


def on_exchange(
    factory: ComponentFactory, scenario: Callable[[ExchangeAdapter[Any]], Awaitable[T]]
) -> T:
    """Run ``scenario`` against a fresh adapter that is started and has loaded its instruments."""

    async def main() -> T:
        async with started(factory, (ExchangeAdapter,)) as adapter:
            await adapter.load_instruments()
            return await scenario(adapter)

    return run_async(main)


async def expect_error(
    call: Awaitable[Any], errors: type[BaseException] | tuple[type[BaseException], ...], what: str
) -> BaseException:
    """Await ``call``; return the expected error, or fail the check naming what came back."""
    try:
        result = await call
    except errors as exc:
        return exc
    _did_not_raise(errors, what, result)


def _did_not_raise(
    errors: type[BaseException] | tuple[type[BaseException], ...], what: str, result: object
) -> NoReturn:
    names = " or ".join(e.__name__ for e in (errors if isinstance(errors, tuple) else (errors,)))
    pytest.fail(f"{what} should raise {names}, but it returned {result!r}", pytrace=False)


async def open_order_ids(adapter: ExchangeAdapter[Any], symbol: str | None) -> list[str]:
    return [order.client_order_id for order in await adapter.fetch_open_orders(symbol)]


async def fills_of(adapter: ExchangeAdapter[Any], client_order_id: str, symbol: str) -> list[Fill]:
    return [f for f in await adapter.fetch_fills(symbol) if f.client_order_id == client_order_id]


def assert_fills_explain(order: Order, fills: Sequence[Fill]) -> None:
    """The order's filled quantity and average price are exactly what its fills add up to."""
    request = order.request
    total = sum((fill.quantity for fill in fills), Decimal(0))
    assert total == order.filled_quantity, (
        f"fills of {order.client_order_id} add up to {total}, but the order reports "
        f"filled_quantity {order.filled_quantity}"
    )
    ids = [fill.fill_id for fill in fills]
    assert len(set(ids)) == len(ids), f"fills of {order.client_order_id} repeat fill ids: {ids}"
    for fill in fills:
        expected = (request.symbol, request.venue, request.side)
        matches = (fill.symbol, fill.venue, fill.side) == expected
        assert matches, (
            f"fill {fill.fill_id} is {fill.side.value} {fill.symbol}@{fill.venue}; its order is "
            f"{request.side.value} {request.symbol}@{request.venue}"
        )
    if total > 0:
        vwap = sum((fill.quantity * fill.price for fill in fills), Decimal(0)) / total
        assert order.average_fill_price is not None, (
            f"order {order.client_order_id} has fills but no average_fill_price"
        )
        tolerance = vwap * Decimal("1e-12")
        assert abs(order.average_fill_price - vwap) <= tolerance, (
            f"order {order.client_order_id} reports average price {order.average_fill_price}, "
            f"its fills average {vwap}"
        )
