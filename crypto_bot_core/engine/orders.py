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
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from crypto_bot_core.engine import chaos
from crypto_bot_core.engine.checks import check_order
from crypto_bot_core.engine.lifecycle import filled, moved
from crypto_bot_core.host.fence import DEFAULT_BUDGETS, Fence, PluginTimeoutError
from crypto_bot_core.observability.metrics import MetricsSink
from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import (
    TERMINAL_STATUSES,
    Balance,
    ExchangeAdapter,
    ExchangeError,
    ExchangeUnavailableError,
    Fill,
    Order,
    OrderIntent,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    PluginError,
    RecordType,
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


def _request(**fields: Any) -> OrderRequest:
    """The request of an order the engine built: validated only where a plugin could err.

    Every field comes from the engine's own intent (sizing, the kill switch) and
    router, and the client order id from :meth:`OrderManager.next_client_order_id`;
    the one value a plugin shapes - the quantity, through a risk rule's resize - is
    checked. Full validation cost ~20 us an order for nothing.
    """
    quantity = fields["quantity"]
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        return OrderRequest(**fields)  # raises, naming the bad quantity
    return build(OrderRequest, **fields)


def _new_order(request: OrderRequest, ts: datetime) -> Order:
    if ts.tzinfo is not UTC:
        return Order(request=request, created_at=ts, updated_at=ts)
    return build(
        Order,
        request=request,
        status=OrderStatus.CREATED,
        exchange_order_id=None,
        filled_quantity=ZERO,
        average_fill_price=None,
        fees=ZERO,
        created_at=ts,
        updated_at=ts,
        reason="",
        kind="order",
    )


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


@runtime_checkable
class SyncOrderEntry(Protocol):
    """An in-process venue that answers a submit synchronously (the paper exchange).

    ``place_order`` must be what the class's own ``submit_order`` awaits. Such a
    call cannot time out or lose its connection, so the order manager calls it
    directly instead of paying for a task and a timer per order.
    """

    def place_order(self, request: OrderRequest) -> Order: ...


_SYNC_ENTRY: dict[type, bool] = {}
_BY_ORDER: dict[type, bool] = {}


def sync_entry(adapter: object) -> bool:
    """Whether ``adapter``'s submit is its synchronous ``place_order``, not overridden.

    A subclass that overrides ``submit_order`` (a test double adding a delay, a
    wrapper) keeps the awaited path with its timeout and lookups.
    """
    kind = type(adapter)
    known = _SYNC_ENTRY.get(kind)
    if known is None:
        definer = next((c for c in kind.__mro__ if "place_order" in vars(c)), None)
        known = definer is not None and getattr(kind, "submit_order", None) is getattr(
            definer, "submit_order", None
        )
        _SYNC_ENTRY[kind] = known
    return known


@runtime_checkable
class FillsByOrder(Protocol):
    """A venue that can list one order's fills without scanning all of them."""

    def fills_for_order(self, client_order_id: str) -> Sequence[Fill]: ...


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
    metrics: MetricsSink | None = None
    on_status: Callable[[Order], object] | None = None
    """Called after each status record (the plugins' ``cryptobot_order_update`` hook)."""
    """Orders by status, for Prometheus when the run has telemetry."""
    """Where fills found at submission go (the engine books ledger, order and portfolio)."""
    orders: dict[str, Order] = field(default_factory=dict)
    _open: dict[str, Order] = field(default_factory=dict)
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
        payload: dict[str, Any] = {
            "client_order_id": order.client_order_id,
            "exchange_order_id": order.exchange_order_id,
            "venue": order.venue,
            "symbol": order.symbol,
            "status": order.status.value,
            "filled_quantity": str(order.filled_quantity),
            "average_fill_price": (
                str(order.average_fill_price) if order.average_fill_price is not None else None
            ),
            "reason": order.reason,
        }
        payload.update(extra)
        self.ledger.append(STATUS_RECORD[order.status], payload, ts=ts)
        if self.metrics is not None:
            self.metrics.order_status(order.venue, order.status.value)
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
        self.ledger.append(
            RecordType.ORDER_INTENT,
            {
                "client_order_id": request.client_order_id,
                "intent_id": intent.intent_id,
                "policy": intent.policy,
                "reason": intent.reason,
                "request": request.model_dump(mode="json"),
                **(dict(decision) if decision else {}),
            },
            ts=ts,
        )
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
        if remote.filled_quantity > 0:
            # Filled (in part) on arrival: book those fills before the final status, so an
            # IOC that filled partly and then expired passes through partially_filled.
            sink = self.fill_sink or self.book_fill
            for fill in await self._fills_of(venue, adapter, request, ts):
                sink(fill)
        current = self.orders[request.client_order_id]
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

    async def _fills_of(
        self, venue: str, adapter: ExchangeAdapter[Any], request: OrderRequest, since: datetime
    ) -> Sequence[Fill]:
        kind = type(adapter)
        by_order = _BY_ORDER.get(kind)
        if by_order is None:
            # Protocol checks cost tens of microseconds in Python 3.11; once per type.
            by_order = _BY_ORDER[kind] = isinstance(adapter, FillsByOrder)
        if by_order:
            return self.fence_of(venue).call(
                cast(FillsByOrder, adapter).fills_for_order, request.client_order_id
            )
        fills = await self.fetch_fills(venue, request.symbol, since=since)
        return [f for f in fills if f.client_order_id == request.client_order_id]

    async def _send(self, adapter: ExchangeAdapter[Any], request: OrderRequest) -> Order:
        """Submit; after no answer in time or a dropped connection, look the order up
        before resending."""
        venue = request.venue
        last_error: Exception | None = None
        for _attempt in range(self.max_attempts):
            try:
                if sync_entry(adapter):
                    # In-process (the paper exchange): it cannot time out; fenced for crashes.
                    try:
                        answer = self.fence_of(venue).call(
                            cast(SyncOrderEntry, adapter).place_order, request
                        )
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
        """Record a fill once (deduplicated by id) and move its order; None if seen or foreign."""
        if fill.fill_id in self.seen_fills:
            return None
        order = self.orders.get(fill.client_order_id)
        if order is None:
            return None
        self.seen_fills.add(fill.fill_id)
        if order.status is OrderStatus.CREATED:
            order = moved(order, OrderStatus.SUBMITTED, fill.ts)
        if order.status is OrderStatus.SUBMITTED:
            order = moved(order, OrderStatus.ACKNOWLEDGED, fill.ts)
        self.ledger.append(RecordType.FILL, fill.model_dump(mode="json"), ts=fill.ts)
        chaos.point("fill_recorded")
        updated = filled(order, fill)
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
        self.orders[order.client_order_id] = order
        if order.status not in TERMINAL_STATUSES:
            self._open[order.client_order_id] = order
        else:
            self._open.pop(order.client_order_id, None)

    def open_orders(self) -> Sequence[Order]:
        return list(self._open.values())

    def any_open(self) -> bool:
        return bool(self._open)
