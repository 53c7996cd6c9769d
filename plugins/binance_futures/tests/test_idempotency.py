"""Client order ids make placement idempotent: a lost answer never becomes a second order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from crypto_bot_sdk import (
    DuplicateOrderError,
    ExchangeUnavailableError,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from tests.conftest import AdapterFactory
from tests.fake_binance import FakeBinanceServer, FaultKind

ORDER = "/fapi/v1/order"
ALGO = "/fapi/v1/algoOrder"


def market_buy(coid: str, quantity: str = "0.010") -> OrderRequest:
    return OrderRequest(
        client_order_id=coid, venue="binance-futures", symbol="BTC/USDT:USDT", side=Side.BUY,
        order_type=OrderType.MARKET, quantity=Decimal(quantity),
    )  # fmt: skip


def submit(
    make_adapter: AdapterFactory, request: OrderRequest, **config: object
) -> tuple[Order, list[Fill]]:
    async def main() -> tuple[Order, list[Fill]]:
        adapter = make_adapter(**config)
        await adapter.start()
        try:
            order = await adapter.submit_order(request)
            fills = await adapter.fetch_fills(request.symbol)
            return order, [f for f in fills if f.client_order_id == request.client_order_id]
        finally:
            await adapter.close()

    return asyncio.run(main())


@pytest.mark.parametrize("kind", [FaultKind.DROP_AFTER_ACCEPT, FaultKind.STALL_AFTER_ACCEPT])
def test_lost_answer_after_acceptance_gives_exactly_one_order(
    fake: FakeBinanceServer, make_adapter: AdapterFactory, kind: FaultKind
) -> None:
    fake.arm(kind, "POST", ORDER)
    order, fills = submit(make_adapter, market_buy("lost-answer-1"), timeout_s=0.5)
    assert fake.orders_with_client_id("lost-answer-1") == 1
    assert len(fake.requests("POST", ORDER)) == 1, "the order was found, so never resent"
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal("0.010")
    assert sum(f.quantity for f in fills) == Decimal("0.010")


@pytest.mark.parametrize("kind", [FaultKind.DROP, FaultKind.SERVER_ERROR])
def test_request_that_never_arrived_is_resent_with_the_same_id(
    fake: FakeBinanceServer, make_adapter: AdapterFactory, kind: FaultKind
) -> None:
    fake.arm(kind, "POST", ORDER)
    order, _ = submit(make_adapter, market_buy("never-arrived-1"))
    posts = fake.requests("POST", ORDER)
    assert [p.params["newClientOrderId"] for p in posts] == ["never-arrived-1"] * 2
    assert fake.orders_with_client_id("never-arrived-1") == 1
    assert order.status is OrderStatus.FILLED


def test_lost_conditional_order_is_found_through_the_algo_endpoint(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fake.arm(FaultKind.DROP_AFTER_ACCEPT, "POST", ALGO)
    request = OrderRequest(
        client_order_id="lost-stop-1", venue="binance-futures", symbol="BTC/USDT:USDT",
        side=Side.BUY, order_type=OrderType.STOP, quantity=Decimal("0.010"),
        stop_price=Decimal("65000.0"),
    )  # fmt: skip
    order, _ = submit(make_adapter, request)
    posts = fake.requests("POST", ALGO)
    assert len(posts) == 1
    assert posts[0].params["clientAlgoId"] == "lost-stop-1"
    assert posts[0].params["type"] == "STOP_MARKET"
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert order.exchange_order_id is not None


def test_every_attempt_lost_raises_unavailable_and_no_order_exists(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    fake.arm(FaultKind.DROP, "POST", ORDER, times=10)
    with pytest.raises(ExchangeUnavailableError, match="placing order all-lost-1"):
        submit(make_adapter, market_buy("all-lost-1"), max_retries=2)
    assert len(fake.requests("POST", ORDER)) == 3
    assert fake.orders_with_client_id("all-lost-1") == 0


def test_resend_from_a_restarted_adapter_finds_the_order(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    first, _ = submit(make_adapter, market_buy("restart-1"))
    again, fills = submit(make_adapter, market_buy("restart-1"))
    assert fake.orders_with_client_id("restart-1") == 1
    assert len(fake.requests("POST", ORDER)) == 1
    assert again.exchange_order_id == first.exchange_order_id
    assert again.status is OrderStatus.FILLED
    assert sum(f.quantity for f in fills) == Decimal("0.010"), "the resend traded nothing"


def test_resend_from_a_restarted_adapter_with_other_terms_is_refused(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    submit(make_adapter, market_buy("restart-2"))
    with pytest.raises(DuplicateOrderError, match="restart-2 is already used"):
        submit(make_adapter, market_buy("restart-2", quantity="0.020"))
    assert fake.orders_with_client_id("restart-2") == 1


def test_client_order_id_goes_out_as_new_client_order_id(
    fake: FakeBinanceServer, make_adapter: AdapterFactory
) -> None:
    request = OrderRequest(
        client_order_id="wire-1", venue="binance-futures", symbol="ETH/USDT:USDT",
        side=Side.SELL, order_type=OrderType.LIMIT, quantity=Decimal("0.500"),
        price=Decimal("3500.00"), post_only=True,
    )  # fmt: skip
    submit(make_adapter, request)
    (post,) = fake.requests("POST", ORDER)
    assert post.params == {
        "symbol": "ETHUSDT", "side": "SELL", "quantity": "0.5", "type": "LIMIT",
        "newClientOrderId": "wire-1", "newOrderRespType": "RESULT", "price": "3500",
        "timeInForce": "GTX", "timestamp": post.params["timestamp"], "recvWindow": "5000",
        "signature": post.params["signature"],
    }  # fmt: skip
