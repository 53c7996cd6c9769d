"""Order behaviour beyond the kit: triggers that fire, IOC and FOK, races, foreign orders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from crypto_bot_sdk import (
    InvalidOrderError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.conftest import AdapterFactory
from tests.fake_binance import FakeBinanceServer

T = TypeVar("T")


def run(make_adapter: AdapterFactory, scenario: Callable[[BinanceFuturesExchange], Awaitable[T]]
        ) -> T:  # fmt: skip
    async def main() -> T:
        adapter = make_adapter()
        await adapter.start()
        try:
            return await scenario(adapter)
        finally:
            await adapter.close()

    return asyncio.run(main())


def request(coid: str, kind: OrderType, quantity: str, **terms: Any) -> OrderRequest:
    return OrderRequest(
        client_order_id=coid, venue="binance-futures", symbol="BTC/USDT:USDT",
        side=terms.pop("side", Side.BUY), order_type=kind, quantity=Decimal(quantity), **terms,
    )  # fmt: skip


def test_stop_fires_when_the_price_trades_through_and_fills_under_its_id(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    stop = request("stop-fires", OrderType.STOP, "0.010", stop_price=Decimal("61000.0"))

    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        placed = await adapter.submit_order(stop)
        await fake.aexternal_trade("BTCUSDT", Decimal("61000.0"), Decimal("0.001"))
        fired = await adapter.fetch_order("stop-fires", "BTC/USDT:USDT")
        return placed, fired, await adapter.fetch_fills("BTC/USDT:USDT")

    placed, fired, fills = run(make_adapter, scenario)
    assert placed.status is OrderStatus.ACKNOWLEDGED
    assert fired.status is OrderStatus.FILLED
    assert fired.request == stop, "the order keeps the stop request it was placed with"
    assert fired.filled_quantity == Decimal("0.010")
    assert fired.average_fill_price == Decimal("61006.1")  # the ladder's best ask after the move
    (fill,) = fills
    assert (fill.client_order_id, fill.quantity) == ("stop-fires", Decimal("0.01"))
    assert fired.exchange_order_id == fill.exchange_order_id


def test_ioc_takes_what_it_can_and_expires(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    ioc = request("ioc-1", OrderType.LIMIT, "0.200", price=Decimal("60012.0"),
                  time_in_force=TimeInForce.IOC)  # fmt: skip

    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.submit_order(ioc), await adapter.fetch_fills("BTC/USDT:USDT")

    order, fills = run(make_adapter, scenario)
    assert order.status is OrderStatus.EXPIRED
    assert order.filled_quantity == Decimal("0.1")
    assert [(f.price, f.quantity) for f in fills] == [
        (Decimal("60006"), Decimal("0.05")), (Decimal("60012"), Decimal("0.05")),
    ]  # fmt: skip


def test_fok_that_cannot_fill_is_refused_and_leaves_nothing(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fok = request("fok-1", OrderType.LIMIT, "0.200", price=Decimal("60012.0"),
                  time_in_force=TimeInForce.FOK)  # fmt: skip

    async def scenario(adapter: BinanceFuturesExchange) -> None:
        with pytest.raises(InvalidOrderError, match="-5021"):
            await adapter.submit_order(fok)

    run(make_adapter, scenario)
    assert fake.orders_with_client_id("fok-1") == 0


def test_cancel_after_the_fill_won_returns_the_filled_order(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    limit = request("race-1", OrderType.LIMIT, "0.010", price=Decimal("59000.0"))

    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        await adapter.submit_order(limit)
        await fake.aexternal_trade("BTCUSDT", Decimal("58990.0"))
        return await adapter.cancel_order("race-1", "BTC/USDT:USDT")

    order = run(make_adapter, scenario)
    assert order.status is OrderStatus.FILLED
    assert order.average_fill_price == Decimal("59000")


def test_orders_placed_elsewhere_are_listed_with_their_terms(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    placed = request("elsewhere-1", OrderType.LIMIT, "0.010", price=Decimal("55000.0"),
                     side=Side.BUY, post_only=True, time_in_force=TimeInForce.GTX)  # fmt: skip
    tp = request("elsewhere-2", OrderType.TAKE_PROFIT_LIMIT, "0.020", price=Decimal("54000.0"),
                 stop_price=Decimal("54000.0"))  # fmt: skip

    async def place(adapter: BinanceFuturesExchange) -> None:
        await adapter.submit_order(placed)
        await adapter.submit_order(tp)

    async def listing(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_open_orders()

    run(make_adapter, place)
    listed = {o.client_order_id: o for o in run(make_adapter, listing)}  # a fresh adapter
    assert listed["elsewhere-1"].request.same_order_as(placed)
    assert listed["elsewhere-2"].request.same_order_as(tp)
    assert listed["elsewhere-2"].status is OrderStatus.ACKNOWLEDGED
