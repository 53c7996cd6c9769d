"""Exchange checks selected by the manifest's capabilities: order types beyond market
and limit, post-only, reduce-only, and the optional methods."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_sdk._contracts import ExchangeAdapter, FeeSchedule
from crypto_bot_sdk._errors import CryptoBotError, InvalidOrderError
from crypto_bot_sdk._market import Instrument, InstrumentKind, OrderBook, Side
from crypto_bot_sdk._orders import Fill, OrderStatus, OrderType
from crypto_bot_sdk._portfolio import Position
from crypto_bot_sdk.testing._exchange_support import (
    DriveMarket,
    on_exchange,
    open_order_ids,
    request_for,
)
from crypto_bot_sdk.testing._support import ComponentFactory, missing_fixture

Adapter = ExchangeAdapter[Any]

FILL_STREAM_TIMEOUT_S = 10.0
"""How long the fill-stream check waits for a pushed fill before calling the stream silent."""

_TRIGGERED = [
    pytest.param(kind, marks=pytest.mark.requires_capability(f"order.{kind.value}"), id=kind.value)
    for kind in (
        OrderType.STOP,
        OrderType.STOP_LIMIT,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_LIMIT,
    )
]

_OPTIONAL_METHODS = [
    pytest.param(name, marks=pytest.mark.requires_capability(name), id=name)
    for name in ("positions", "order_book", "fees", "leverage", "fill_stream")
]


class ExchangeCapabilityChecks:
    """Mixed into :class:`ExchangeAdapterConformance`; uses its fixtures."""

    @pytest.mark.parametrize("order_type", _TRIGGERED)
    def test_triggered_order_rests_and_cancels(
        self,
        *,
        order_type: OrderType,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        resting_stop_price: Decimal | None,
        drive_market: DriveMarket,
    ) -> None:
        # A BUY stop triggers when the price rises to stop_price, a BUY take-profit when it
        # falls to it: a stop above the market and a take-profit below it both stay untriggered.
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            if resting_stop_price is None:
                missing_fixture(
                    type(self).__name__,
                    "resting_stop_price",
                    f"the manifest declares 'order.{order_type.value}': return a BUY trigger "
                    "price above the market",
                )
            trigger = resting_stop_price
        else:
            trigger = resting_limit_price
        request = request_for(
            instrument,
            order_quantity,
            tag=order_type.value,
            order_type=order_type,
            stop_price=trigger,
            price=trigger if order_type.needs_price else None,
        )

        async def scenario(adapter: Adapter) -> None:
            order = await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            fetched = await adapter.fetch_order(order.client_order_id, instrument.symbol)
            untouched = fetched.status.is_open and fetched.filled_quantity == 0
            assert untouched, (
                f"an untriggered BUY {order_type.value} at {trigger} is {fetched.status} with "
                f"{fetched.filled_quantity} filled"
            )
            assert fetched.request.same_order_as(request), "the venue changed the order's terms"
            cancelled = await adapter.cancel_order(order.client_order_id, instrument.symbol)
            assert cancelled.status is OrderStatus.CANCELLED, f"cancel returned {cancelled.status}"

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("post_only")
    def test_post_only_order_rests(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        resting_limit_price: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(
            instrument, order_quantity, tag="post", price=resting_limit_price, post_only=True
        )

        async def scenario(adapter: Adapter) -> None:
            await adapter.submit_order(request)
            await drive_market(adapter, instrument)
            order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            rests = order.status.is_open and order.filled_quantity == 0
            assert rests, (
                f"a post-only BUY at {resting_limit_price} is {order.status} with "
                f"{order.filled_quantity} filled"
            )
            assert order.request.post_only, "the venue dropped the post_only flag"
            assert request.client_order_id in await open_order_ids(adapter, instrument.symbol)

        on_exchange(component_factory, scenario)

    @pytest.mark.requires_capability("reduce_only")
    def test_reduce_only_never_opens_a_position(
        self,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        request = request_for(
            instrument,
            order_quantity,
            tag="reduce",
            order_type=OrderType.MARKET,
            side=Side.SELL,
            reduce_only=True,
        )

        async def scenario(adapter: Adapter) -> None:
            try:
                await adapter.submit_order(request)
            except InvalidOrderError:
                return
            await drive_market(adapter, instrument)
            order = await adapter.fetch_order(request.client_order_id, instrument.symbol)
            refused = order.filled_quantity == 0 and order.status.is_terminal
            assert refused, (
                f"a reduce-only SELL on a flat account is {order.status} with "
                f"{order.filled_quantity} filled; it must be refused, not open a short"
            )

        on_exchange(component_factory, scenario)

    @pytest.mark.parametrize("capability", _OPTIONAL_METHODS)
    def test_optional_method_works(
        self,
        capability: str,
        component_factory: ComponentFactory,
        instrument: Instrument,
        order_quantity: Decimal,
        drive_market: DriveMarket,
    ) -> None:
        async def scenario(adapter: Adapter) -> None:
            if capability == "positions":
                await _check_positions(adapter)
            elif capability == "order_book":
                await _check_order_book(adapter, instrument, drive_market)
            elif capability == "fees":
                await _check_fees(adapter, instrument)
            elif capability == "leverage":
                await _check_leverage(adapter, instrument)
            else:
                await _check_fill_stream(adapter, instrument, order_quantity, drive_market)

        on_exchange(component_factory, scenario)


async def _check_positions(adapter: Adapter) -> None:
    positions = tuple(await adapter.fetch_positions())
    for position in positions:
        assert isinstance(position, Position), f"fetch_positions() returned {position!r}"
        assert position.venue == adapter.venue, f"{position.symbol} names venue {position.venue}"
    symbols = [p.symbol for p in positions]
    assert len(set(symbols)) == len(symbols), f"fetch_positions() repeats a symbol: {symbols}"


async def _check_order_book(adapter: Adapter, instrument: Instrument, drive: DriveMarket) -> None:
    await drive(adapter, instrument)
    book = await adapter.fetch_order_book(instrument.symbol, depth=5)
    assert isinstance(book, OrderBook), f"fetch_order_book() returned {book!r}"
    assert (book.symbol, book.venue) == (instrument.symbol, adapter.venue), (
        f"asked for {instrument.symbol}@{adapter.venue}, got {book.symbol}@{book.venue}"
    )
    assert book.bids or book.asks, "the order book is empty after drive_market"
    assert max(len(book.bids), len(book.asks)) <= 5, (
        f"depth=5 returned {len(book.bids)} bids and {len(book.asks)} asks"
    )


async def _check_fees(adapter: Adapter, instrument: Instrument) -> None:
    fees = await adapter.fetch_fees(instrument.symbol)
    assert isinstance(fees, FeeSchedule), f"fetch_fees() returned {fees!r}"
    for label, rate in (("maker", fees.maker), ("taker", fees.taker)):
        assert isinstance(rate, Decimal), f"{label} rate {rate!r} is not a Decimal"
        assert abs(rate) < Decimal("0.05"), (
            f"{label} rate {rate} is not a plausible fraction of notional (0.0004 = 4 bps)"
        )


async def _check_leverage(adapter: Adapter, instrument: Instrument) -> None:
    if instrument.kind is not InstrumentKind.PERPETUAL:
        pytest.fail(
            "capability 'leverage' needs a perpetual 'instrument' fixture, not "
            f"{instrument.symbol}",
            pytrace=False,
        )
    await adapter.set_leverage(instrument.symbol, 1)
    try:
        await adapter.set_leverage(instrument.symbol, 0)
    except CryptoBotError:
        return
    pytest.fail("set_leverage(symbol, 0) was accepted; refuse it with an SDK error", pytrace=False)


async def _check_fill_stream(
    adapter: Adapter, instrument: Instrument, quantity: Decimal, drive: DriveMarket
) -> None:
    stream: AsyncIterator[Fill] = adapter.fill_stream()

    async def first_fill() -> Fill:
        return await anext(stream)

    waiter = asyncio.ensure_future(first_fill())
    try:
        await asyncio.sleep(0)  # let the stream subscribe before the order can fill
        request = request_for(instrument, quantity, tag="stream", order_type=OrderType.MARKET)
        await adapter.submit_order(request)
        await drive(adapter, instrument)
        try:
            fill = await asyncio.wait_for(asyncio.shield(waiter), FILL_STREAM_TIMEOUT_S)
        except TimeoutError:
            pytest.fail(
                f"fill_stream() pushed nothing within {FILL_STREAM_TIMEOUT_S}s of a market order "
                "filling",
                pytrace=False,
            )
        assert isinstance(fill, Fill), f"fill_stream() yielded {fill!r}"
        assert fill.client_order_id == request.client_order_id, (
            f"fill_stream() pushed a fill of {fill.client_order_id}, expected "
            f"{request.client_order_id}"
        )
    finally:
        if not waiter.done():
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await waiter
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
