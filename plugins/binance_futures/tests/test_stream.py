"""Fills pushed over the user-data websocket survive disconnects: none lost, none twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

from crypto_bot_sdk import Fill, OrderRequest, OrderType, Side
from cryptobot_binance_futures.exchange import BinanceFuturesExchange
from tests.conftest import AdapterFactory
from tests.fake_binance import FakeBinanceServer

WAIT_S = 15.0
"""Upper bound for one fill to arrive; the stream normally takes milliseconds."""


def market(coid: str, quantity: str, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        client_order_id=coid, venue="binance-futures", symbol="BTC/USDT:USDT", side=side,
        order_type=OrderType.MARKET, quantity=Decimal(quantity),
    )  # fmt: skip


async def take(stream: AsyncIterator[Fill], count: int) -> list[Fill]:
    return [await asyncio.wait_for(anext(stream), WAIT_S) for _ in range(count)]


def test_fills_arrive_over_the_websocket(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    async def main() -> tuple[list[Fill], list[Fill], BinanceFuturesExchange]:
        # A long poll interval: whatever arrives in this test came over the websocket.
        adapter = make_adapter(poll_interval_s=120)
        await adapter.start()
        stream = adapter.fill_stream()
        first = asyncio.ensure_future(take(stream, 3))
        try:
            await fake.until_stream_connections(1)
            await adapter.submit_order(market("ws-1", "0.120"))  # walks three ladder levels
            pushed = await first
            rest = await adapter.fetch_fills("BTC/USDT:USDT")
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await adapter.close()
        return pushed, list(rest), adapter

    pushed, rest, adapter = asyncio.run(main())
    assert [f.quantity for f in pushed] == [Decimal("0.05"), Decimal("0.05"), Decimal("0.02")]
    assert [f.price for f in pushed] == [Decimal("60006"), Decimal("60012"), Decimal("60018")]
    assert {f.fill_id for f in pushed} == {f.fill_id for f in rest}
    assert adapter.stream_stats.streamed == 3
    assert adapter.stream_stats.recovered == 0


def test_websocket_disconnect_mid_session_loses_no_fill(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    async def main() -> tuple[list[Fill], list[Fill], BinanceFuturesExchange]:
        adapter = make_adapter(poll_interval_s=120)
        await adapter.start()
        stream = adapter.fill_stream()
        try:
            waiting = asyncio.ensure_future(take(stream, 1))
            await fake.until_stream_connections(1)
            await adapter.submit_order(market("before-drop", "0.010"))
            pushed = await waiting
            # The server drops the websocket and refuses the first reconnects; the orders
            # placed meanwhile fill while nobody listens.
            await fake.acall(lambda: setattr(fake.state, "refuse_streams", 2))
            await fake.acall(fake.state.disconnect_streams)
            await adapter.submit_order(market("during-drop-1", "0.020"))
            await adapter.submit_order(market("during-drop-2", "0.070", Side.SELL))
            pushed += await take(stream, 3)
            await fake.until_stream_connections(2)
            await adapter.submit_order(market("after-drop", "0.010"))
            pushed += await take(stream, 1)
            everything = await adapter.fetch_fills("BTC/USDT:USDT")
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await adapter.close()
        return pushed, list(everything), adapter

    pushed, everything, adapter = asyncio.run(main())
    ids = [f.fill_id for f in pushed]
    assert len(ids) == len(set(ids)) == 5, f"a fill came twice: {ids}"
    assert set(ids) == {f.fill_id for f in everything}, "the stream lost a fill"
    by_order = {f.client_order_id for f in pushed}
    assert by_order == {"before-drop", "during-drop-1", "during-drop-2", "after-drop"}
    stats = adapter.stream_stats
    assert stats.disconnects >= 1
    assert stats.recovered == 3, "the three fills made while disconnected came from REST"
    assert pushed[-1].client_order_id == "after-drop"


def test_rest_polling_when_the_websocket_is_off(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    async def main() -> tuple[list[Fill], BinanceFuturesExchange]:
        adapter = make_adapter(stream=False, poll_interval_s=0.05)
        await adapter.start()
        stream = adapter.fill_stream()
        try:
            waiting = asyncio.ensure_future(take(stream, 2))
            await asyncio.sleep(0)
            await adapter.submit_order(market("poll-1", "0.060"))
            pushed = await waiting
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await adapter.close()
        return pushed, adapter

    pushed, adapter = asyncio.run(main())
    assert [f.quantity for f in pushed] == [Decimal("0.05"), Decimal("0.01")]
    assert {f.client_order_id for f in pushed} == {"poll-1"}
    assert fake.call(lambda: fake.state.stream_connections) == 0
    assert adapter.stream_stats.streamed == 0
