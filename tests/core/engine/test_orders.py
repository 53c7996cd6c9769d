"""The order manager against a venue whose answers get lost: never two orders, never none."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from crypto_bot_core.engine.orders import MemoryAuditLog, OrderManager
from crypto_bot_sdk import (
    Balance,
    DuplicateOrderError,
    ExchangeAdapter,
    ExchangeUnavailableError,
    Fill,
    Instrument,
    InsufficientFundsError,
    Order,
    OrderIntent,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    PluginConfig,
    RecordType,
)

TS = datetime(2024, 1, 1, tzinfo=UTC)


class LossyVenue(ExchangeAdapter[PluginConfig]):
    """Accepts orders but can lose the answer (``lose_answers``) or refuse them (``refuse``)."""

    name = "lossy"

    def __init__(self, lose_answers: int = 0, down_before_accept: int = 0) -> None:
        super().__init__(PluginConfig())
        self.lose_answers = lose_answers
        self.down_before_accept = down_before_accept
        self.book: dict[str, Order] = {}
        self.submit_calls = 0
        self.refuse = False

    @property
    def venue(self) -> str:
        return "v"

    async def load_instruments(self) -> Sequence[Instrument]:
        return [
            Instrument(symbol="BTC/USDT", venue="v", kind="spot", tick_size="0.1", lot_size="0.001")
        ]

    async def submit_order(self, request: OrderRequest) -> Order:
        self.submit_calls += 1
        if self.down_before_accept:
            self.down_before_accept -= 1
            raise ExchangeUnavailableError("connection reset", venue="v")
        if self.refuse:
            raise InsufficientFundsError("balance 10 USDT < 100 USDT needed", venue="v")
        existing = self.book.get(request.client_order_id)
        if existing is not None and not existing.request.same_order_as(request):
            raise DuplicateOrderError("different order with this id", venue="v")
        if existing is None:
            existing = (
                Order(request=request, created_at=TS, updated_at=TS)
                .transition(OrderStatus.SUBMITTED, ts=TS)
                .transition(OrderStatus.ACKNOWLEDGED, ts=TS, exchange_order_id=f"x{len(self.book)}")
            )
            self.book[request.client_order_id] = existing
        if self.lose_answers:
            self.lose_answers -= 1
            await asyncio.sleep(3600)  # the answer never arrives; the manager's timeout fires
        return existing

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        order = self.book[client_order_id].transition(OrderStatus.CANCELLED, ts=TS)
        self.book[client_order_id] = order
        return order

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        if client_order_id not in self.book:
            raise OrderNotFoundError(f"no order {client_order_id}", venue="v")
        return self.book[client_order_id]

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        return [o for o in self.book.values() if o.status.is_open]

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        return []

    async def fetch_balances(self) -> Sequence[Balance]:
        return [Balance(asset="USDT", venue="v", free="1000")]


def intent() -> OrderIntent:
    return OrderIntent(
        intent_id="i1",
        symbol="BTC/USDT",
        side="buy",
        order_type="limit",
        price="100",
        quantity="1",
        ts=TS,
    )


def manager(venue: LossyVenue, log: MemoryAuditLog) -> OrderManager:
    return OrderManager(log, {"v": venue}, id_prefix="run1", submit_timeout=0.05)


def test_timeout_after_accept_gives_exactly_one_order() -> None:
    venue, log = LossyVenue(lose_answers=1), MemoryAuditLog()
    order = asyncio.run(manager(venue, log).submit(intent(), venue="v", quantity=D("1"), ts=TS))
    assert len(venue.book) == 1
    assert venue.submit_calls == 1  # found by client id; not resent
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert order.exchange_order_id == "x0"
    assert [r[0] for r in log.records] == [RecordType.ORDER_INTENT, RecordType.ORDER_ACKNOWLEDGED]
    assert log.records[0][1]["client_order_id"] == order.client_order_id == "run1-000001"


def test_connection_drop_before_accept_resends_the_same_id() -> None:
    venue, log = LossyVenue(down_before_accept=1), MemoryAuditLog()
    order = asyncio.run(manager(venue, log).submit(intent(), venue="v", quantity=D("1"), ts=TS))
    assert venue.submit_calls == 2
    assert list(venue.book) == [order.client_order_id]


def test_venue_down_throughout_records_a_rejection_with_the_reason() -> None:
    venue, log = LossyVenue(down_before_accept=10), MemoryAuditLog()
    order = asyncio.run(manager(venue, log).submit(intent(), venue="v", quantity=D("1"), ts=TS))
    assert order.status is OrderStatus.REJECTED
    assert "could not be placed or found after 3 attempts" in order.reason
    assert log.records[-1][0] is RecordType.ORDER_REJECTED
    assert not venue.book


def test_exchange_refusal_is_recorded_as_rejected() -> None:
    venue, log = LossyVenue(), MemoryAuditLog()
    venue.refuse = True
    order = asyncio.run(manager(venue, log).submit(intent(), venue="v", quantity=D("1"), ts=TS))
    assert order.status is OrderStatus.REJECTED
    assert "balance 10 USDT < 100 USDT needed" in order.reason
    assert log.records[-1][1]["error"] == "InsufficientFundsError"


def test_fills_are_booked_once_and_move_the_order() -> None:
    venue, log = LossyVenue(), MemoryAuditLog()
    om = manager(venue, log)
    order = asyncio.run(om.submit(intent(), venue="v", quantity=D("1"), ts=TS))
    f = Fill(
        fill_id="F1",
        client_order_id=order.client_order_id,
        symbol="BTC/USDT",
        venue="v",
        side="buy",
        quantity="0.4",
        price="100",
        fee="0.04",
        ts=TS,
    )
    updated = om.book_fill(f)
    assert updated is not None
    assert updated.status is OrderStatus.PARTIALLY_FILLED
    assert om.book_fill(f) is None  # the same fill again is ignored
    assert [r[0] for r in log.records].count(RecordType.FILL) == 1
    cancelled = asyncio.run(om.cancel(order.client_order_id, TS))
    assert cancelled.status is OrderStatus.CANCELLED
    assert om.open_orders() == []


@pytest.mark.parametrize("prefix", ["run1", "r-2"])
def test_client_ids_are_sequential_per_prefix(prefix: str) -> None:
    om = OrderManager(MemoryAuditLog(), {}, id_prefix=prefix)
    assert [om.next_client_order_id() for _ in range(3)] == [
        f"{prefix}-00000{i}" for i in (1, 2, 3)
    ]
