"""A small but real in-memory exchange, and three ways to get one wrong.

``MemoryExchange`` matches orders against public trades fed through
``on_market_event`` (like a paper venue): market orders take the next trades,
limit orders fill when a trade reaches their price, stops trigger on the
trade price, and a trade smaller than an order fills it in part.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from crypto_bot_sdk import (
    Balance,
    DuplicateOrderError,
    ExchangeAdapter,
    FeeSchedule,
    Fill,
    Instrument,
    InvalidOrderError,
    MarketEvent,
    Order,
    OrderBook,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    OrderType,
    PluginConfig,
    PrecisionError,
    Side,
    Trade,
)
from crypto_bot_sdk.testing import FIXED_NOW, make_instrument

VENUE = "memory"


class MemoryExchangeConfig(PluginConfig):
    quote_balance: Decimal = Decimal("100000")


class MemoryExchange(ExchangeAdapter[MemoryExchangeConfig]):
    name = "memory"
    config_model = MemoryExchangeConfig

    def __init__(self, config: MemoryExchangeConfig) -> None:
        super().__init__(config)
        self._instruments = {i.symbol: i for i in (make_instrument("BTC/USDT", VENUE),)}
        self._orders: list[Order] = []
        self._triggered: set[str] = set()
        self._fills: list[Fill] = []
        self._last_price: Decimal | None = None
        self._now = FIXED_NOW
        self._ids = count(1)
        self._subscribers: list[asyncio.Queue[Fill]] = []
        self._forget = False

    def _before_event(self) -> None:
        """Once told to forget closed orders, drop them at each submit and event (after the
        one that closed them, so its fills could still be asked for)."""
        if self._forget:
            self._orders = [o for o in self._orders if o.status.is_open]

    @property
    def venue(self) -> str:
        return VENUE

    async def load_instruments(self) -> Sequence[Instrument]:
        return tuple(self._instruments.values())

    # --- orders ---------------------------------------------------------------

    def _existing(self, request: OrderRequest) -> Order | None:
        """The order a resend refers to; a reuse with other terms is refused."""
        order = self._lookup(request.client_order_id)
        if order is not None and not order.request.same_order_as(request):
            raise DuplicateOrderError(
                f"client order id {request.client_order_id} is taken by another order",
                venue=VENUE,
            )
        return order

    def _validate(self, request: OrderRequest) -> None:
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            raise InvalidOrderError(f"unknown symbol {request.symbol}", venue=VENUE)
        if not instrument.is_quantity_on_lot(request.quantity):
            raise PrecisionError(f"quantity {request.quantity} is off the lot grid", venue=VENUE)
        for price in (request.price, request.stop_price):
            if price is not None and not instrument.is_price_on_tick(price):
                raise PrecisionError(f"price {price} is off the tick grid", venue=VENUE)
        if request.reduce_only:
            raise InvalidOrderError("reduce-only order on a flat spot account", venue=VENUE)

    def _place(self, request: OrderRequest) -> Order:
        """Submit without awaiting anything: the one order path of ``submit_order`` and, in
        :class:`SimulatedMemoryExchange`, of ``submit_order_sync``."""
        self._before_event()
        existing = self._existing(request)
        if existing is not None:
            return existing
        self._validate(request)
        order = Order(request=request, created_at=self._now, updated_at=self._now)
        order = order.transition(OrderStatus.SUBMITTED, ts=self._now)
        order = order.transition(
            OrderStatus.ACKNOWLEDGED, ts=self._now, exchange_order_id=f"m{next(self._ids)}"
        )
        self._orders.append(order)
        return order

    async def submit_order(self, request: OrderRequest) -> Order:
        return self._place(request)

    def _lookup(self, client_order_id: str) -> Order | None:
        found = [o for o in self._orders if o.client_order_id == client_order_id]
        return found[-1] if found else None

    def _replace(self, order: Order) -> None:
        for index, held in enumerate(self._orders):
            if held.exchange_order_id == order.exchange_order_id:
                self._orders[index] = order

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        order = await self.fetch_order(client_order_id, symbol)
        if order.status.is_open:
            order = order.transition(OrderStatus.CANCELLED, ts=self._now, reason="cancelled")
            self._replace(order)
        return order

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self._lookup(client_order_id)
        if order is None or order.symbol != symbol:
            raise OrderNotFoundError(f"no order {client_order_id} on {symbol}", venue=VENUE)
        return order

    async def fetch_open_orders(self, symbol: str | None = None) -> Sequence[Order]:
        return [
            o for o in self._orders if o.status.is_open and symbol in (None, o.symbol)
        ]

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        return [
            f
            for f in self._fills
            if symbol in (None, f.symbol) and (since is None or f.ts >= since)
        ]

    async def fetch_balances(self) -> Sequence[Balance]:
        quote = self.config.quote_balance
        base = Decimal(0)
        for fill in self._fills:
            quote -= fill.side.sign * fill.notional + fill.fee
            base += fill.side.sign * fill.quantity
        return (
            Balance(asset="USDT", venue=VENUE, free=quote),
            Balance(asset="BTC", venue=VENUE, free=base),
        )

    # --- optional methods -------------------------------------------------------

    async def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        if self._last_price is None:
            raise InvalidOrderError(f"no trades seen on {symbol} yet", venue=VENUE)
        tick = self._instruments[symbol].tick_size
        levels = range(1, depth + 1)
        return OrderBook.model_validate(
            {
                "symbol": symbol,
                "venue": VENUE,
                "ts": self._now,
                "bids": [{"price": self._last_price - k * tick, "amount": "1"} for k in levels],
                "asks": [{"price": self._last_price + k * tick, "amount": "1"} for k in levels],
            }
        )

    async def fetch_fees(self, symbol: str) -> FeeSchedule:
        return FeeSchedule(maker=Decimal("0.0002"), taker=Decimal("0.0004"))

    async def fill_stream(self) -> AsyncIterator[Fill]:
        queue: asyncio.Queue[Fill] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.remove(queue)

    # --- matching -----------------------------------------------------------------

    def _fill_price(self, order: Order, price: Decimal) -> Decimal | None:
        """The price ``order`` trades at against a print at ``price``, or None if it doesn't."""
        request, buy = order.request, order.request.side is Side.BUY
        if request.order_type.needs_stop_price and order.client_order_id not in self._triggered:
            stop = request.stop_price or Decimal(0)
            # A buy stop and a sell take-profit fire on a rise to the trigger, the others on a fall.
            on_rise = (request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)) == buy
            if not (price >= stop if on_rise else price <= stop):
                return None
            self._triggered.add(order.client_order_id)
        if request.price is None:
            return price
        crosses = price <= request.price if buy else price >= request.price
        return price if crosses else None

    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        return self._match(event)

    def _match(self, event: MarketEvent) -> Sequence[Fill]:
        """Match ``event`` without awaiting anything: the one matching path of
        ``on_market_event`` and, in :class:`SimulatedMemoryExchange`, of ``match_event``."""
        self._before_event()
        if not isinstance(event, Trade):
            return ()
        self._now, self._last_price = event.ts, event.price
        available, fills = event.amount, []
        for order in [o for o in self._orders if o.status.is_open and o.symbol == event.symbol]:
            price = self._fill_price(order, event.price)
            if price is None or available <= 0:
                continue
            quantity = min(order.remaining_quantity, available)
            available -= quantity
            fill = Fill(
                fill_id=f"{order.exchange_order_id}-{next(self._ids)}",
                client_order_id=order.client_order_id,
                exchange_order_id=order.exchange_order_id,
                symbol=order.symbol,
                venue=VENUE,
                side=order.request.side,
                quantity=quantity,
                price=price,
                fee=quantity * price * Decimal("0.0004"),
                fee_currency="USDT",
                ts=event.ts,
            )
            self._replace(order.apply_fill(fill))
            self._fills.append(fill)
            fills.append(fill)
            for queue in self._subscribers:
                queue.put_nowait(fill)
        return fills


def trade(instrument: Instrument, price: str, amount: str, ts: datetime, trade_id: str) -> Trade:
    return Trade(
        symbol=instrument.symbol,
        venue=instrument.venue,
        ts=ts,
        trade_id=trade_id,
        price=Decimal(price),
        amount=Decimal(amount),
        side=Side.SELL,
    )


class MarketDriver:
    """Feeds a MemoryExchange trades at 100, one second apart."""

    def __init__(self) -> None:
        self._ticks = count(1)

    async def __call__(self, adapter: ExchangeAdapter[Any], instrument: Instrument) -> None:
        tick = next(self._ticks)
        when = FIXED_NOW + timedelta(seconds=tick)
        await adapter.on_market_event(trade(instrument, "100", "1000", when, f"t{tick}"))


async def leave_partially_filled(adapter: ExchangeAdapter[Any], instrument: Instrument) -> str:
    request = OrderRequest(
        client_order_id="partial-1",
        venue=instrument.venue,
        symbol=instrument.symbol,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("1"),
        price=Decimal("100"),
    )
    await adapter.submit_order(request)
    await adapter.on_market_event(
        trade(instrument, "99.5", "0.4", FIXED_NOW + timedelta(minutes=5), "p1")
    )
    return request.client_order_id


# --- broken on purpose ------------------------------------------------------------


class NonIdempotentExchange(MemoryExchange):
    """Places a new order for every submit, even a resend of a known client order id."""

    name = "non-idempotent"

    def _existing(self, request: OrderRequest) -> Order | None:
        return None


class LaxExchange(MemoryExchange):
    """Accepts any order and answers an unknown id with a bare LookupError."""

    name = "lax"

    def _validate(self, request: OrderRequest) -> None:
        return None

    async def fetch_order(self, client_order_id: str, symbol: str) -> Order:
        order = self._lookup(client_order_id)
        if order is None:
            raise LookupError(client_order_id)
        return order


class ForgetfulExchange(MemoryExchange):
    """Says it cancelled without cancelling, and hides fills of unfinished orders."""

    name = "forgetful"

    async def cancel_order(self, client_order_id: str, symbol: str) -> Order:
        order = await self.fetch_order(client_order_id, symbol)
        return order.transition(OrderStatus.CANCELLED, ts=self._now)

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        done = {o.client_order_id for o in self._orders if o.status is OrderStatus.FILLED}
        return [f for f in await super().fetch_fills(symbol, since) if f.client_order_id in done]


# --- the simulated-venue capabilities of API 1.1 ----------------------------------------


class SimulatedMemoryExchange(MemoryExchange):
    """MemoryExchange with a synchronous submit, per-order fills, adopted instruments, state
    snapshots, (for a spot book, always zero) funding, synchronous matching and forgetting
    closed orders."""

    name = "simulated-memory"

    def submit_order_sync(self, request: OrderRequest) -> Order:
        return self._place(request)

    def fills_of_order(self, client_order_id: str) -> Sequence[Fill]:
        return [f for f in self._fills if f.client_order_id == client_order_id]

    def adopt_instruments(self, symbols: Iterable[str]) -> list[Instrument]:
        wanted = list(symbols)
        for symbol in wanted:
            self._instruments.setdefault(symbol, make_instrument(symbol, VENUE))
        return [self._instruments[symbol] for symbol in wanted]

    def snapshot_state(self) -> dict[str, Any]:
        return {
            "orders": [o.model_dump(mode="json") for o in self._orders],
            "fills": [f.model_dump(mode="json") for f in self._fills],
            "triggered": sorted(self._triggered),
            "last_price": None if self._last_price is None else str(self._last_price),
            "now": self._now.isoformat(),
            "next_id": next(self._ids),
        }

    def restore_state(self, data: dict[str, Any]) -> None:
        self._orders = [Order.model_validate(o) for o in data["orders"]]
        self._fills = [Fill.model_validate(f) for f in data["fills"]]
        self._triggered = set(data["triggered"])
        self._last_price = None if data["last_price"] is None else Decimal(data["last_price"])
        self._now = datetime.fromisoformat(data["now"])
        self._ids = count(data["next_id"])

    def settle_funding(self, symbol: str, rate: Decimal, ts: datetime | None = None) -> Decimal:
        return Decimal(0)  # a spot account holds no perpetual position

    def match_event(self, event: MarketEvent) -> Sequence[Fill]:
        return self._match(event)

    def forget_closed_orders(self) -> None:
        self._forget = True


class AmnesiacExchange(SimulatedMemoryExchange):
    """Restores its fills but forgets its orders."""

    name = "amnesiac"

    def restore_state(self, data: dict[str, Any]) -> None:
        super().restore_state({**data, "orders": []})


class FeelessSyncExchange(SimulatedMemoryExchange):
    """Its synchronous matching reports the fills without their fees."""

    name = "feeless-sync"

    def match_event(self, event: MarketEvent) -> Sequence[Fill]:
        return [f.model_copy(update={"fee": Decimal(0)}) for f in self._match(event)]


class HoardingExchange(SimulatedMemoryExchange):
    """Says it will forget closed orders, and keeps every one."""

    name = "hoarding"

    def forget_closed_orders(self) -> None:
        return None
