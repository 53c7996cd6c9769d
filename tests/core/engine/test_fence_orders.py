"""Exchange calls behind the fence: the exchange budget bounds every call to a venue.

A submit that gets no answer in time, or whose adapter crashes, is looked up by
its client order id before anything is resent (one order, never two); a cancel
or fetch that gets no answer raises ``ExchangeUnavailableError`` naming the
venue; the venue's last failure is kept for the readiness probe until a call
to it succeeds again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crypto_bot_core.engine.orders import MemoryAuditLog, OrderManager
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    Balance,
    ExchangeAdapter,
    ExchangeUnavailableError,
    Fill,
    Instrument,
    Order,
    OrderIntent,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    PluginConfig,
    RecordType,
)

TS = datetime(2024, 1, 1, tzinfo=UTC)


class Stalling(ExchangeAdapter[PluginConfig]):
    """A venue whose calls named in ``stall`` never answer, in ``crash`` raise a bug and in
    ``lie`` answer with something that is not an order.

    A stalled or crashed submit has reached the venue first (the order is in its book).
    """

    name = "stalling"

    def __init__(self) -> None:
        super().__init__(PluginConfig())
        self.stall: set[str] = set()
        self.crash: set[str] = set()
        self.lie: set[str] = set()
        self.book: dict[str, Order] = {}
        self.submits = 0

    @property
    def venue(self) -> str:
        return "v"

    async def _maybe_fail(self, call: str) -> None:
        if call in self.crash:
            raise KeyError("orderId")  # e.g. a response field the adapter expected
        if call in self.stall:
            await asyncio.Event().wait()

    async def load_instruments(self) -> Sequence[Instrument]:
        return []

    async def submit_order(self, request: OrderRequest) -> Order:
        self.submits += 1
        order = self.book.get(request.client_order_id)
        if order is None:
            order = (
                Order(request=request, created_at=TS, updated_at=TS)
                .transition(OrderStatus.SUBMITTED, ts=TS)
                .transition(OrderStatus.ACKNOWLEDGED, ts=TS, exchange_order_id="x1")
            )
            self.book[request.client_order_id] = order
        await self._maybe_fail("submit")
        if "submit" in self.lie:
            return {"status": "NEW", "orderId": 7}  # type: ignore[return-value]
        return order

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        await self._maybe_fail("cancel")
        order = self.book[client_order_id].transition(OrderStatus.CANCELLED, ts=TS)
        self.book[client_order_id] = order
        return order

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        await self._maybe_fail("fetch_order")
        if client_order_id not in self.book:
            raise OrderNotFoundError(f"no order {client_order_id}", venue="v")
        return self.book[client_order_id]

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        await self._maybe_fail("fetch_open_orders")
        return [o for o in self.book.values() if o.status.is_open]

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        await self._maybe_fail("fetch_fills")
        return []

    async def fetch_balances(self) -> Sequence[Balance]:
        await self._maybe_fail("fetch_balances")
        return [Balance(asset="USDT", venue="v", free="1000")]


def _intent() -> OrderIntent:
    return OrderIntent(
        intent_id="i1",
        symbol="BTC/USDT",
        side="buy",
        order_type="limit",
        price="100",
        quantity="1",
        ts=TS,
    )


def _manager(venue: Stalling) -> OrderManager:
    return OrderManager(
        MemoryAuditLog(),
        {"v": venue},
        id_prefix="run1",
        exchange_budget=0.02,
        fences={"v": Fence("acme-exchange", "acme-dist")},
    )


async def _submit(manager: OrderManager) -> Order:
    return await manager.submit(_intent(), venue="v", quantity=Decimal(1), ts=TS)


@pytest.mark.parametrize("failure", ["stall", "crash"])
def test_a_submit_without_an_answer_is_looked_up_before_any_resend(failure: str) -> None:
    venue = Stalling()
    getattr(venue, failure).add("submit")
    manager = _manager(venue)
    order = asyncio.run(_submit(manager))
    assert venue.submits == 1  # found by its client order id: not sent twice
    assert len(venue.book) == 1
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert order.exchange_order_id == "x1"
    assert "v" not in manager.venue_problems  # the lookup answered


def test_a_cancel_without_an_answer_raises_unavailable_naming_the_venue() -> None:
    venue = Stalling()
    manager = _manager(venue)
    order = asyncio.run(_submit(manager))
    venue.stall.add("cancel")
    with pytest.raises(ExchangeUnavailableError) as caught:
        asyncio.run(manager.cancel(order.client_order_id, TS))
    assert caught.value.venue == "v"
    assert str(caught.value) == ("v: Stalling.cancel_order gave no answer within 0.02 s")
    assert manager.orders[order.client_order_id].status is OrderStatus.ACKNOWLEDGED
    _at, problem = manager.venue_problems["v"]
    assert problem == "Stalling.cancel_order gave no answer within 0.02 s"
    # the next call that gets an answer clears the venue's record
    venue.stall.clear()
    cancelled = asyncio.run(manager.cancel(order.client_order_id, TS))
    assert cancelled.status is OrderStatus.CANCELLED
    assert manager.venue_problems == {}
    assert manager.ledger.records[-1][0] is RecordType.ORDER_CANCELLED  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "fetch"),
    [
        ("fetch_order", lambda m: m.fetch_order("v", "run1-000001", "BTC/USDT")),
        ("fetch_open_orders", lambda m: m.fetch_open_orders("v")),
        ("fetch_fills", lambda m: m.fetch_fills("v", since=TS)),
        ("fetch_balances", lambda m: m.fetch_balances("v")),
    ],
)
def test_every_fetch_is_bounded_by_the_exchange_budget(call: str, fetch: object) -> None:
    venue = Stalling()
    venue.stall.add(call)
    manager = _manager(venue)
    with pytest.raises(ExchangeUnavailableError, match=f"Stalling.{call} gave no answer"):
        asyncio.run(fetch(manager))  # type: ignore[operator]
    venue.stall.clear()
    venue.crash.add(call)
    with pytest.raises(ExchangeUnavailableError) as caught:
        asyncio.run(fetch(manager))  # type: ignore[operator]
    assert "the adapter failed: plugin acme-exchange (distribution acme-dist)" in str(caught.value)
    assert f"Stalling.{call} raised KeyError: 'orderId'" in str(caught.value)


def test_a_venue_that_never_answers_rejects_the_order_after_the_attempts() -> None:
    venue = Stalling()
    venue.stall.update({"submit", "fetch_order"})
    manager = _manager(venue)
    order = asyncio.run(_submit(manager))
    assert order.status is OrderStatus.REJECTED
    assert "could not be placed or found after 3 attempts" in order.reason
    assert venue.submits == 3  # resent with the same id (idempotent), never a new one
    assert len(venue.book) == 1
    assert "v" in manager.venue_problems


def test_an_answer_that_is_not_an_order_is_no_answer_the_order_is_looked_up() -> None:
    venue = Stalling()
    venue.lie.add("submit")
    manager = _manager(venue)
    order = asyncio.run(_submit(manager))
    assert venue.submits == 1
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert order.exchange_order_id == "x1"
    statuses = [r[0] for r in manager.ledger.records]  # type: ignore[attr-defined]
    assert statuses == [RecordType.ORDER_INTENT, RecordType.ORDER_ACKNOWLEDGED]


def test_fill_polling_goes_through_the_fence_and_records_a_failing_venue() -> None:
    """A real venue's fill polling (live runs) is fenced and budgeted like every venue call:
    a crash or a stall is recorded with the venue's name, and the tick goes on."""
    from crypto_bot_core.engine.fills import FillSync

    venue = Stalling()
    manager = _manager(venue)
    sync = FillSync({"v": venue}, calls=manager, poll_interval=0.0)

    async def poll() -> list[list[Fill]]:
        venue.crash.add("fetch_fills")
        crashed = await sync.collect(force=True)
        venue.crash.clear()
        venue.stall.add("fetch_fills")
        stalled = await sync.collect(force=True)
        return [crashed, stalled]

    assert asyncio.run(poll()) == [[], []]
    assert len(sync.errors) == 2
    assert all(error.startswith("v: fetch_fills failed:") for error in sync.errors)
    assert "v" in manager.venue_problems
