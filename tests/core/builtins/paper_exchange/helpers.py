"""Builders shared by the paper exchange tests: venues, bars, books, trades and orders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import (
    Bar,
    BookLevel,
    OrderBook,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    Trade,
)

T = TypeVar("T")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPOT = "BTC/USDT"
PERP = "BTC/USDT:USDT"


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable

    return asyncio.run(main())


def venue(**config: Any) -> PaperExchange:
    """A paper venue with zero fees unless the test sets them, so prices read plainly."""
    settings: dict[str, Any] = {"maker_fee": "0", "taker_fee": "0"}
    settings.update(config)
    return PaperExchange.from_config(settings)


def at(minute: int, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minute, seconds=seconds)


def bar(
    minute: int,
    o: str | int,
    h: str | int,
    lo: str | int,
    c: str | int,
    *,
    volume: str | int = 1000,
    symbol: str = SPOT,
) -> Bar:
    return Bar(
        symbol=symbol,
        venue="data",
        ts=at(minute),
        open=D(o),
        high=D(h),
        low=D(lo),
        close=D(c),
        volume=D(volume),
    )


def flat_bar(minute: int, price: str | int, volume: str | int = 1000, symbol: str = SPOT) -> Bar:
    return bar(minute, price, price, price, price, volume=volume, symbol=symbol)


def trade(seconds: float, price: str | int, amount: str | int, symbol: str = SPOT) -> Trade:
    return Trade(
        symbol=symbol,
        venue="data",
        ts=at(0, seconds),
        trade_id=f"t{seconds}",
        price=D(price),
        amount=D(amount),
        side=Side.BUY,
    )


def book(
    seconds: float,
    bids: Sequence[tuple[str | int, str | int]],
    asks: Sequence[tuple[str | int, str | int]],
    symbol: str = SPOT,
) -> OrderBook:
    return OrderBook(
        symbol=symbol,
        venue="data",
        ts=at(0, seconds),
        bids=tuple(BookLevel(price=D(p), amount=D(a)) for p, a in bids),
        asks=tuple(BookLevel(price=D(p), amount=D(a)) for p, a in asks),
    )


_counter = iter(range(1, 1_000_000))


def order(
    side: Side | str,
    quantity: str | int,
    *,
    symbol: str = SPOT,
    price: str | int | None = None,
    stop: str | int | None = None,
    order_type: OrderType | str | None = None,
    tif: TimeInForce | str = TimeInForce.GTC,
    coid: str | None = None,
    venue_name: str = "paper",
    **flags: Any,
) -> OrderRequest:
    """An order request; its type follows from the prices given unless set explicitly."""
    if order_type is None:
        if stop is not None:
            order_type = OrderType.STOP_LIMIT if price is not None else OrderType.STOP
        else:
            order_type = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(
        client_order_id=coid or f"o-{next(_counter)}",
        venue=venue_name,
        symbol=symbol,
        side=Side(side),
        order_type=OrderType(order_type),
        quantity=D(quantity),
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
        time_in_force=TimeInForce(tif),
        **flags,
    )


def balances(exchange: PaperExchange) -> dict[str, tuple[Decimal, Decimal]]:
    """Asset -> (free, used)."""
    return {b.asset: (b.free, b.used) for b in run(exchange.fetch_balances())}
