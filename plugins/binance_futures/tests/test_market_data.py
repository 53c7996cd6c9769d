"""Market data and account settings beyond orders: book, candles, funding, leverage, margin."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from crypto_bot_sdk import InvalidOrderError, OrderRequest, OrderType, Side
from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.conftest import AdapterFactory
from tests.fake_binance import API_KEY, FakeBinanceServer

T = TypeVar("T")


def run(make_adapter: AdapterFactory, scenario: Callable[[BinanceFuturesExchange], Awaitable[T]],
        **config: Any) -> T:  # fmt: skip
    async def main() -> T:
        adapter = make_adapter(**config)
        await adapter.start()
        try:
            return await scenario(adapter)
        finally:
            await adapter.close()

    return asyncio.run(main())


def test_order_book_is_cut_to_the_asked_depth(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_order_book("ETH/USDT:USDT", depth=3)

    book = run(make_adapter, scenario)
    assert [level.price for level in book.bids] == [Decimal("2999.70"), Decimal("2999.40"),
                                                    Decimal("2999.10")]  # fmt: skip
    assert [level.price for level in book.asks][:1] == [Decimal("3000.30")]
    assert len(book.asks) == 3
    assert book.venue == "binance-futures"
    (request,) = fake.requests("GET", "/fapi/v1/depth")
    assert request.params["limit"] == "5", "the smallest depth Binance offers above 3"


def test_candles_aggregate_the_trades_printed(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    def print_two_minutes_ago() -> None:
        fake.state.clock_offset_ms = -120_000  # the venue's clock only; no request is signed
        for price in ("60010.0", "60030.0", "59990.0"):
            fake.state.venue.external_trade("BTCUSDT", Decimal(price), Decimal("0.5"))
        fake.state.clock_offset_ms = 0

    fake.call(print_two_minutes_ago)
    since = datetime.now(UTC) - timedelta(minutes=5)

    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_ohlcv("BTC/USDT:USDT", "1m", since=since, limit=10)

    bars = run(make_adapter, scenario)
    assert all(b.ts + timedelta(minutes=1) <= datetime.now(UTC) for b in bars), "only closed bars"
    assert [b.ts for b in bars] == sorted(b.ts for b in bars)
    (traded,) = [b for b in bars if b.volume > 0]
    assert (traded.open, traded.high, traded.low, traded.close, traded.volume) == (
        Decimal("60010"), Decimal("60030"), Decimal("59990"), Decimal("59990"), Decimal("1.5"),
    )
    quiet = [b for b in bars if b.ts > traded.ts]
    assert quiet
    assert all(b.open == b.close == Decimal("59990") for b in quiet)


def test_funding_rate(fake: FakeBinanceServer, make_adapter: AdapterFactory) -> None:
    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        return await adapter.fetch_funding_rate("BTC/USDT:USDT")

    funding = run(make_adapter, scenario)
    assert funding.rate == Decimal("0.0001")
    assert funding.mark_price == Decimal("60000")
    assert funding.next_funding_time > funding.ts
    metric = funding.as_metric("binance-futures")
    assert (metric.name, metric.value, metric.symbol) == ("funding_rate", 0.0001, "BTC/USDT:USDT")


def test_leverage_and_margin_mode_are_set_at_start_and_on_demand(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    async def scenario(adapter: BinanceFuturesExchange) -> None:
        await adapter.set_leverage("ETH/USDT:USDT", 7)
        await adapter.set_margin_mode("ETH/USDT:USDT", "isolated")  # already isolated: fine
        refused = "leverage 200 for ETH/USDT:USDT is not allowed"
        with pytest.raises(InvalidOrderError, match=refused):
            await adapter.set_leverage("ETH/USDT:USDT", 200)

    run(make_adapter, scenario, leverage=3, margin_mode="isolated")
    account = fake.call(lambda: fake.state.venue.accounts[API_KEY])
    assert account.leverage == {"BTCUSDT": 3, "ETHUSDT": 7}
    assert account.margin_type == {"BTCUSDT": "isolated", "ETHUSDT": "isolated"}
    assert len(fake.requests("POST", "/fapi/v1/marginType")) == 3


def test_positions_follow_fills(fake: FakeBinanceServer, make_adapter: AdapterFactory) -> None:
    async def scenario(adapter: BinanceFuturesExchange) -> Any:
        before = await adapter.fetch_positions()
        await adapter.submit_order(OrderRequest(
            client_order_id="pos-1", venue="binance-futures", symbol="ETH/USDT:USDT",
            side=Side.SELL, order_type=OrderType.MARKET, quantity=Decimal("1.500"),
        ))  # fmt: skip
        return before, await adapter.fetch_positions()

    before, (position,) = run(make_adapter, scenario)
    assert before == []
    assert position.symbol == "ETH/USDT:USDT"
    assert position.quantity == Decimal("-1.5")
    # 1.0 at 2999.70 and 0.5 at 2999.40
    assert position.average_entry_price == Decimal("2999.6")
