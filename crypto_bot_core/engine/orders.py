"""The order manager: client ids chosen before sending, the ledger written around every call.

The intent is in the ledger before the exchange call and the outcome after it
(DESIGN rule 8). A submit that times out or meets a dropped connection is
looked up by its client order id before anything is resent, and a resend
reuses the same id, which the adapter contract makes idempotent: one order,
never two. Every status change goes through the SDK's lifecycle state machine.

Every call to a venue goes through the adapter plugin's fence with the exchange
budget (:meth:`OrderManager.venue_call`). A submit that overruns it is treated
like a lost answer (looked up before any resend); a cancel or fetch that
overruns it, or an adapter that crashes, becomes ``ExchangeUnavailableError``
naming the venue, so callers that survive a venue outage (the kill switch,
fill polling) survive a faulty adapter too. The last failure per venue is
kept (:attr:`OrderManager.venue_problems`) for the readiness probe.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from crypto_bot_core.engine import chaos
from crypto_bot_core.engine.checks import check_order
from crypto_bot_core.engine.fills import overrides
from crypto_bot_core.engine.lifecycle import acknowledged_and_filled, filled, moved
from crypto_bot_core.host.fence import DEFAULT_BUDGETS, Fence, PluginTimeoutError
from crypto_bot_core.observability.metrics import MetricsSink
from crypto_bot_core.support.trusted import maker
from crypto_bot_sdk import (
    TERMINAL_STATUSES,
    Balance,
    ExchangeAdapter,
    ExchangeError,
    ExchangeUnavailableError,
    Fill,
    Liquidity,
    Order,
    OrderIntent,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    OrderType,
    PluginError,
    RecordType,
    Side,
    TimeInForce,
)

R = TypeVar("R")
ZERO = Decimal(0)
STATUS_RECORD: dict[OrderStatus, RecordType] = {
    OrderStatus.SUBMITTED: RecordType.ORDER_SUBMITTED,
    OrderStatus.ACKNOWLEDGED: RecordType.ORDER_ACKNOWLEDGED,
    OrderStatus.PARTIALLY_FILLED: RecordType.ORDER_PARTIALLY_FILLED,
    OrderStatus.FILLED: RecordType.ORDER_FILLED,
    OrderStatus.PENDING_CANCEL: RecordType.ORDER_AMENDED,
    OrderStatus.CANCELLED: RecordType.ORDER_CANCELLED,
    OrderStatus.REJECTED: RecordType.ORDER_REJECTED,
    OrderStatus.EXPIRED: RecordType.ORDER_EXPIRED,
}


_make_request = maker(OrderRequest)
_make_order = maker(Order)
_TEXT: dict[object, str] = {
    member: member.value
    for kind in (Side, OrderType, TimeInForce, OrderStatus, Liquidity)
    for member in kind
}
"""Each enum member's value: ``member.value`` goes through an enum descriptor (~0.3 us)."""


def _request(**fields: Any) -> OrderRequest:
    """The request of an order the engine built: validated only where a plugin could err.

    Every field comes from the engine's own intent (sizing, the kill switch) and
    router, and the client order id from :meth:`OrderManager.next_client_order_id`;
    the one value a plugin shapes - the quantity, through a risk rule's resize - is
    checked. Full validation cost ~20 us an order for nothing. Callers give every
    field (the model's maker checks none).
    """
    quantity = fields["quantity"]
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        return OrderRequest(**fields)  # raises, naming the bad quantity
    request: OrderRequest = _make_request(fields)
    return request


def _new_order(request: OrderRequest, ts: datetime) -> Order:
    if ts.tzinfo is not UTC:
        return Order(request=request, created_at=ts, updated_at=ts)
    order: Order = _make_order(
        {
            "request": request,
            "status": OrderStatus.CREATED,
            "exchange_order_id": None,
            "filled_quantity": ZERO,
            "average_fill_price": None,
            "fees": ZERO,
            "created_at": ts,
            "updated_at": ts,
            "reason": "",
            "kind": "order",
        }
    )
    return order


def request_json(request: OrderRequest) -> dict[str, Any]:
    """``request.model_dump(mode="json")``, the request as the order intent record holds it,
    built directly: ~1 us instead of ~7.

    When every value has exactly the type the model declares (always, for the requests
    :func:`_request` builds) the JSON form is known: an enum gives its value, money
    ``format(value, "f")`` (the SDK's serializer), text and flags themselves. Anything
    else (a subclass, a value of another type in a model built without validation) is
    left to pydantic. ``tests/core/engine/test_order_payloads.py`` compares the two.
    """
    v = request.__dict__
    side, order_type, tif = v["side"], v["order_type"], v["time_in_force"]
    quantity, price, stop = v["quantity"], v["price"], v["stop_price"]
    intent_id, reduce_only, post_only = v["intent_id"], v["reduce_only"], v["post_only"]
    symbol, client_order_id, venue = v["symbol"], v["client_order_id"], v["venue"]
    if not (
        type(request) is OrderRequest
        and type(side) is Side
        and type(order_type) is OrderType
        and type(tif) is TimeInForce
        and type(quantity) is Decimal
        and (price is None or type(price) is Decimal)
        and (stop is None or type(stop) is Decimal)
        and type(reduce_only) is bool
        and type(post_only) is bool
        and (intent_id is None or type(intent_id) is str)
        and type(symbol) is str
        and type(client_order_id) is str
        and type(venue) is str
    ):
        return request.model_dump(mode="json")
    return {
        "symbol": symbol,
        "side": _TEXT[side],
        "order_type": _TEXT[order_type],
        "quantity": format(quantity, "f"),
        "price": None if price is None else format(price, "f"),
        "stop_price": None if stop is None else format(stop, "f"),
        "time_in_force": _TEXT[tif],
        "reduce_only": reduce_only,
        "post_only": post_only,
        "client_order_id": client_order_id,
        "venue": venue,
        "intent_id": intent_id,
    }


def fill_json(fill: Fill) -> dict[str, Any]:
    """``fill.model_dump(mode="json")``, the fill record's payload, built directly: ~1.5 us
    instead of ~8; same rules as :func:`request_json`, and a UTC time written as pydantic
    writes it (ISO 8601, ``Z``)."""
    v = fill.__dict__
    side, liquidity, ts = v["side"], v["liquidity"], v["ts"]
    quantity, price, fee = v["quantity"], v["price"], v["fee"]
    fill_id, client_order_id, exchange_order_id = (
        v["fill_id"],
        v["client_order_id"],
        v["exchange_order_id"],
    )
    symbol, venue, fee_currency = v["symbol"], v["venue"], v["fee_currency"]
    if not (
        type(fill) is Fill
        and type(side) is Side
        and type(liquidity) is Liquidity
        and type(ts) is datetime
        and ts.tzinfo is UTC
        and type(quantity) is Decimal
        and type(price) is Decimal
        and type(fee) is Decimal
        and (exchange_order_id is None or type(exchange_order_id) is str)
        and type(fill_id) is str
        and type(client_order_id) is str
        and type(symbol) is str
        and type(venue) is str
        and type(fee_currency) is str
    ):
        return fill.model_dump(mode="json")
    return {
        "fill_id": fill_id,
        "client_order_id": client_order_id,
        "exchange_order_id": exchange_order_id,
        "symbol": symbol,
        "venue": venue,
        "side": _TEXT[side],
        "quantity": format(quantity, "f"),
        "price": format(price, "f"),
        "fee": format(fee, "f"),
        "fee_currency": fee_currency,
        "liquidity": _TEXT[liquidity],
        "ts": ts.isoformat()[:-6] + "Z",
    }


class AuditLog(Protocol):
    """What the engine needs of the ledger: ordered, durable appends."""

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object: ...


class MemoryAuditLog:
    """An in-memory log for tests and for runs with the ledger switched off."""

    def __init__(self) -> None:
        self.records: list[tuple[RecordType, dict[str, Any], datetime | None]] = []

    def append(
        self, type: RecordType, payload: Mapping[str, Any], *, ts: datetime | None = None
    ) -> object:
        self.records.append((type, dict(payload), ts))
        return None


_SYNC_SUBMIT: dict[type, bool] = {}


def sync_submit(adapter: ExchangeAdapter[Any]) -> bool:
    """Whether the order manager may place ``adapter``'s orders with its synchronous submit.

    True when the adapter's class overrides the SDK's ``submit_order_sync``
    (capability ``sync_submit``: an in-process venue, the paper exchange) and
    its ``submit_order`` is the one of the class that does: such a call cannot
    time out or lose its connection, so it is made directly, fenced, instead
    of paying for a coroutine and a timer per order. A subclass that overrides
    ``submit_order`` below that class (a test double adding a delay, a
    wrapper) keeps the awaited path with its timeout and lookups. Cached per
    class.
    """
    kind = type(adapter)
    known = _SYNC_SUBMIT.get(kind)
    if known is None:
        definer = next(c for c in kind.__mro__ if "submit_order_sync" in vars(c))
        submit = "submit_order"  # looked up by name: mypy types ``definer`` as a bare ``type``
        known = definer is not ExchangeAdapter and getattr(kind, submit) is getattr(definer, submit)
        _SYNC_SUBMIT[kind] = known
    return known


class StateStore(Protocol):
    """Called after each exchange call: simulated venues persist their state here."""

    def persist(self, venue: str) -> None: ...


@dataclass
class OrderManager:
    ledger: AuditLog
    adapters: Mapping[str, ExchangeAdapter[Any]]
    id_prefix: str
    exchange_budget: float | None = DEFAULT_BUDGETS["exchange"]
    """Seconds one venue call may take (``budgets.exchange``); None: unbounded."""
    submit_timeout: float | None = None
    """Seconds a submit may take, when it must differ from ``exchange_budget``."""
    max_attempts: int = 3
    fences: Mapping[str, Fence] = field(default_factory=dict)
    """Venue -> the fence of its adapter's plugin (the host's ``fence_for(adapter)``); a venue
    without one gets a fence named after the venue."""
    state_store: StateStore | None = None
    fill_sink: Callable[[Fill], object] | None = None
    """Where fills found at submission go (the engine books ledger, order and portfolio)."""
    metrics: MetricsSink | None = None
    """Orders by status, for Prometheus when the run has telemetry."""
    on_status: Callable[[Order], object] | None = None
    """Called after each status record (the plugins' ``cryptobot_order_update`` hook)."""
    keep_closed: bool = True
    """Whether :attr:`orders` keeps an order once it is closed (filled, cancelled, rejected,
    expired). A resumable run must: a restart reconciles them and lists the filled ones.
    A backtest is never resumed and nothing asks about a closed order again (fills of an
    order no longer held are ignored, as those of a foreign one): False there keeps only
    the open orders, where every closed one was ~1.5 KB for the rest of the run."""
    orders: dict[str, Order] = field(default_factory=dict)
    """Client order id -> the order as last recorded; closed ones only with ``keep_closed``."""
    _open: dict[str, Order] = field(default_factory=dict)
    _last_closed: Order | None = None
    """Without ``keep_closed``: the order most recently closed (and dropped from
    :attr:`orders`), so a submit whose fills closed its order still answers with it."""
    seen_fills: set[str] = field(default_factory=set)
    venue_problems: dict[str, tuple[float, str]] = field(default_factory=dict)
    """Venue -> (``time.monotonic()``, what failed) for a venue whose last call failed (no
    answer in time, unreachable, adapter crashed); cleared by its next answered call."""
    _sequence: int = 0
    _fences: dict[str, Fence] = field(default_factory=dict)

    def next_client_order_id(self) -> str:
        self._sequence += 1
        return f"{self.id_prefix}-{self._sequence:06d}"

    def adopt(self, order: Order) -> None:
        """Take over an order rebuilt from the ledger (restart)."""
        self._set(order)

    def restart_sequence(self, issued: int) -> None:
        """Continue client order ids after the ``issued`` ones a previous process used."""
        self._sequence = max(self._sequence, issued)

    def record_status(self, order: Order, ts: datetime, **extra: Any) -> None:
        self._record_status(order, ts, **extra)

    def _record_status(self, order: Order, ts: datetime, **extra: Any) -> None:
        request = order.request
        status = order.status
        average = order.average_fill_price
        payload: dict[str, Any] = {
            "client_order_id": request.client_order_id,
            "exchange_order_id": order.exchange_order_id,
            "venue": request.venue,
            "symbol": request.symbol,
            "status": _TEXT[status],
            "filled_quantity": str(order.filled_quantity),
            "average_fill_price": None if average is None else str(average),
            "reason": order.reason,
        }
        if extra:
            payload.update(extra)
        self.ledger.append(STATUS_RECORD[status], payload, ts=ts)
        if self.metrics is not None:
            self.metrics.order_status(request.venue, _TEXT[status])
        if self.on_status is not None:
            self.on_status(order)

    def _persist(self, venue: str) -> None:
        if self.state_store is not None:
            self.state_store.persist(venue)

    async def submit(
        self,
        intent: OrderIntent,
        *,
        venue: str,
        quantity: Any,
        ts: datetime,
        decision: Mapping[str, Any] | None = None,
        reduce_only: bool | None = None,
    ) -> Order:
        """Record, send and record the outcome of one order built from ``intent``."""
        request = _request(
            client_order_id=self.next_client_order_id(),
            venue=venue,
            symbol=intent.symbol,
            side=intent.side,
            order_type=intent.order_type,
            quantity=quantity,
            price=intent.price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force,
            reduce_only=intent.reduce_only if reduce_only is None else reduce_only,
            post_only=intent.post_only,
            intent_id=intent.intent_id,
        )
        order = _new_order(request, ts)
        self._set(order)
        payload: dict[str, Any] = {
            "client_order_id": request.client_order_id,
            "intent_id": intent.intent_id,
            "policy": intent.policy,
            "reason": intent.reason,
            "request": request_json(request),
        }
        if decision:
            payload.update(decision)
        self.ledger.append(RecordType.ORDER_INTENT, payload, ts=ts)
        chaos.point("intent_recorded")
        adapter = self.adapters[venue]
        sent = moved(order, OrderStatus.SUBMITTED, ts)
        try:
            remote = await self._send(adapter, request)
        except ExchangeError as exc:
            chaos.point("exchange_answered")
            rejected = moved(sent, OrderStatus.REJECTED, ts, reason=str(exc))
            self._set(rejected)
            self._persist(venue)
            self._record_status(rejected, ts, error=type(exc).__name__)
            return rejected
        chaos.point("exchange_answered")
        self._persist(venue)
        chaos.point("venue_persisted")
        self._set(sent)
        current = sent
        if remote.filled_quantity > 0:
            # Filled (in part) on arrival: book those fills before the final status, so an
            # IOC that filled partly and then expired passes through partially_filled.
            sink = self.fill_sink or self.book_fill
            if overrides(adapter, "fills_of_order"):  # asked by order, no coroutine
                fills = self.fence_of(venue).call(adapter.fills_of_order, request.client_order_id)
            else:
                fills = await self._fills_of(venue, request, ts)
            for fill in fills:
                sink(fill)
            current = self._current(request.client_order_id)
        local = self._sync_status(current, remote, ts)
        self._set(local)
        if local is not current or current.status is OrderStatus.SUBMITTED:
            self._record_status(local, ts)
        return local

    # --- venue calls, fenced ---------------------------------------------------------
    def fence_of(self, venue: str) -> Fence:
        """The fence venue calls go through (the adapter plugin's, else one named ``venue``)."""
        fence = self._fences.get(venue)
        if fence is None:
            fence = self._fences[venue] = self.fences.get(venue) or Fence(venue)
        return fence

    async def venue_call(
        self,
        venue: str,
        fn: Callable[..., Awaitable[R]],
        /,
        *args: Any,
        budget: float | None = None,
        **kwargs: Any,
    ) -> R:
        """``await fn(*args, **kwargs)`` on ``venue``'s adapter, fenced, within the budget.

        The venue's answers, refusals included (``ExchangeError``), pass as they
        are. No answer in time, and a crash of the adapter, become
        :class:`ExchangeUnavailableError` naming the venue (chained to the
        fence's error), and are kept in :attr:`venue_problems`.
        """
        limit = budget if budget is not None else self.exchange_budget
        try:
            result = await self.fence_of(venue).call_async(fn, *args, budget=limit, **kwargs)
        except PluginTimeoutError as exc:
            problem = f"{exc.where} gave no answer within {exc.budget:g} s"
            self.venue_problems[venue] = (time.monotonic(), problem)
            raise ExchangeUnavailableError(problem, venue=venue) from exc
        except ExchangeUnavailableError as exc:
            self.venue_problems[venue] = (time.monotonic(), str(exc))
            raise
        except PluginError as exc:
            self.venue_problems[venue] = (time.monotonic(), str(exc))
            raise ExchangeUnavailableError(f"the adapter failed: {exc}", venue=venue) from exc
        except ExchangeError:
            self.venue_problems.pop(venue, None)  # refused, but it answered
            raise
        self.venue_problems.pop(venue, None)
        return result

    async def order_call(
        self,
        venue: str,
        fn: Callable[..., Awaitable[Order]],
        client_order_id: str,
        /,
        *args: Any,
        budget: float | None = None,
    ) -> Order:
        """:meth:`venue_call` for a call answering with one order, checked
        (:func:`~crypto_bot_core.engine.checks.check_order`): an unsound answer is
        no answer (``ExchangeUnavailableError``), never a move of the engine's order."""
        answer = await self.venue_call(venue, fn, client_order_id, *args, budget=budget)
        return self._checked(venue, answer, client_order_id)

    def _checked(self, venue: str, answer: object, client_order_id: str) -> Order:
        try:
            return check_order(answer, venue=venue, client_order_id=client_order_id)
        except PluginError as exc:
            self.venue_problems[venue] = (time.monotonic(), exc.reason)
            raise ExchangeUnavailableError(exc.reason, venue=venue) from exc

    async def fetch_order(self, venue: str, client_order_id: str, symbol: str) -> Order:
        return await self.order_call(
            venue, self.adapters[venue].fetch_order, client_order_id, symbol
        )

    async def fetch_open_orders(self, venue: str, symbol: str | None = None) -> Sequence[Order]:
        return await self.venue_call(venue, self.adapters[venue].fetch_open_orders, symbol)

    async def fetch_fills(
        self, venue: str, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        return await self.venue_call(venue, self.adapters[venue].fetch_fills, symbol, since=since)

    async def fetch_balances(self, venue: str, budget: float | None = None) -> Sequence[Balance]:
        return await self.venue_call(venue, self.adapters[venue].fetch_balances, budget=budget)

    async def _fills_of(self, venue: str, request: OrderRequest, since: datetime) -> Sequence[Fill]:
        """The fills of a just-submitted order, picked from the venue's fills since the submit
        (a venue that lists one order's fills, capability ``fills_by_order``, is asked that
        instead: see :meth:`submit`)."""
        fills = await self.fetch_fills(venue, request.symbol, since=since)
        return [f for f in fills if f.client_order_id == request.client_order_id]

    async def _send(self, adapter: ExchangeAdapter[Any], request: OrderRequest) -> Order:
        """Submit; after no answer in time or a dropped connection, look the order up
        before resending."""
        venue = request.venue
        last_error: Exception | None = None
        for _attempt in range(self.max_attempts):
            try:
                if sync_submit(adapter):
                    # In-process (the paper exchange): it cannot time out; fenced for crashes.
                    try:
                        answer = self.fence_of(venue).call(adapter.submit_order_sync, request)
                    except PluginError as exc:
                        raise ExchangeUnavailableError(
                            f"the adapter failed: {exc}", venue=venue
                        ) from exc
                else:
                    answer = await self.venue_call(
                        venue, adapter.submit_order, request, budget=self.submit_timeout
                    )
                return self._checked(venue, answer, request.client_order_id)
            except ExchangeUnavailableError as exc:
                last_error = exc
                try:
                    return await self.fetch_order(venue, request.client_order_id, request.symbol)
                except OrderNotFoundError:
                    continue  # never reached the venue: resending the same id is safe
                except ExchangeUnavailableError as lookup_exc:
                    last_error = lookup_exc
                    continue
        raise ExchangeUnavailableError(
            f"order {request.client_order_id} could not be placed or found after "
            f"{self.max_attempts} attempts: {last_error}",
            venue=venue,
        )

    @staticmethod
    def _sync_status(local: Order, remote: Order, ts: datetime) -> Order:
        """Adopt the venue's status and id, leaving quantities to the fills that explain them."""
        status = remote.status
        if status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            # Fills move these states; until they are booked the order is acknowledged.
            status = OrderStatus.ACKNOWLEDGED
        if (
            status is local.status
            or (status is OrderStatus.ACKNOWLEDGED and local.filled_quantity > 0)
            or not local.can_transition(status)
        ):
            if remote.exchange_order_id and not local.exchange_order_id:
                return local.model_copy(update={"exchange_order_id": remote.exchange_order_id})
            return local
        update: dict[str, Any] = {}
        if remote.reason:
            update["reason"] = remote.reason
        if remote.exchange_order_id is not None:
            update["exchange_order_id"] = remote.exchange_order_id
        return moved(local, status, ts, **update)

    def book_fill(self, fill: Fill) -> Order | None:
        """Record a fill once (deduplicated by id) and move its order; None if seen or foreign
        (an order this manager never sent, or, without ``keep_closed``, one already closed)."""
        if fill.fill_id in self.seen_fills:
            return None
        order = self.orders.get(fill.client_order_id)
        if order is None:
            return None
        self.seen_fills.add(fill.fill_id)
        status = order.status
        unacknowledged = status is OrderStatus.CREATED or status is OrderStatus.SUBMITTED
        if unacknowledged and fill.ts.utcoffset() is None:
            moved(order, OrderStatus.SUBMITTED, fill.ts)  # raises before anything is recorded
        self.ledger.append(RecordType.FILL, fill_json(fill), ts=fill.ts)
        chaos.point("fill_recorded")
        # Not acknowledged yet (a market order filled at submission): acknowledged at the
        # fill's time, then filled, in one copy.
        updated = acknowledged_and_filled(order, fill) if unacknowledged else filled(order, fill)
        self._set(updated)
        self._record_status(updated, fill.ts, fill_id=fill.fill_id)
        return updated

    async def cancel(self, client_order_id: str, ts: datetime) -> Order:
        order = self.orders[client_order_id]
        adapter = self.adapters[order.venue]
        remote = await self.order_call(
            order.venue, adapter.cancel_order, client_order_id, order.symbol
        )
        self._persist(order.venue)
        if remote.status is OrderStatus.CANCELLED and order.can_transition(OrderStatus.CANCELLED):
            order = moved(order, OrderStatus.CANCELLED, ts, reason="cancelled")
            self._set(order)
            self._record_status(order, ts)
        return order

    def _set(self, order: Order) -> None:
        client_order_id = order.client_order_id
        if order.status not in TERMINAL_STATUSES:
            self.orders[client_order_id] = order
            self._open[client_order_id] = order
            return
        self._open.pop(client_order_id, None)
        if self.keep_closed:
            self.orders[client_order_id] = order
        else:
            self.orders.pop(client_order_id, None)
            self._last_closed = order

    def _current(self, client_order_id: str) -> Order:
        """The order as last set: held in :attr:`orders`, or just closed and dropped."""
        order = self.orders.get(client_order_id)
        if order is not None:
            return order
        closed = self._last_closed
        if closed is None or closed.client_order_id != client_order_id:
            raise KeyError(client_order_id)
        return closed

    def open_orders(self) -> Sequence[Order]:
        return list(self._open.values())

    def any_open(self) -> bool:
        return bool(self._open)
