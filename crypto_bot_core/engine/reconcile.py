"""Restart without losing or duplicating an order: rebuild from the ledger, then ask the venues.

The ledger says what we intended and what we last heard; each venue says what
is true. For every order the ledger left open the venue is asked by client
order id: an order the venue never saw is closed as "never reached the
venue" (the strategy decides afresh; nothing is resent blindly), one it holds
is brought up to date, and fills booked at the venue but missing from the
ledger are booked now. The outcome is written as one reconciliation record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from crypto_bot_sdk import (
    Fill,
    LedgerRecord,
    Order,
    OrderNotFoundError,
    OrderRequest,
    OrderStatus,
    RecordType,
)

_STATUS_OF: dict[RecordType, OrderStatus] = {
    RecordType.ORDER_SUBMITTED: OrderStatus.SUBMITTED,
    RecordType.ORDER_ACKNOWLEDGED: OrderStatus.ACKNOWLEDGED,
    RecordType.ORDER_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    RecordType.ORDER_FILLED: OrderStatus.FILLED,
    RecordType.ORDER_AMENDED: OrderStatus.PENDING_CANCEL,
    RecordType.ORDER_CANCELLED: OrderStatus.CANCELLED,
    RecordType.ORDER_REJECTED: OrderStatus.REJECTED,
    RecordType.ORDER_EXPIRED: OrderStatus.EXPIRED,
}


@dataclass
class LedgerState:
    """What the ledger knows about a run's orders and fills."""

    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    fill_ids: set[str] = field(default_factory=set)
    last_decision_ts: datetime | None = None
    order_count: int = 0
    intent_count: int = 0
    killed: bool = False
    initial_cash: dict[str, Decimal] = field(default_factory=dict)
    """Each venue's starting cash, from the run's first start record."""
    run_id: str | None = None
    stopped: bool = False
    """Whether the last system record is a stop (a clean end, not a crash)."""
    funding: list[dict[str, Any]] = field(default_factory=list)
    """Funding settlements recorded, in order (payloads of ``funding`` records)."""
    initial_balances: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Each venue's starting balance per asset, where the first start record lists them."""
    initial_currencies: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Each venue's starting cash per currency (a multi-currency run's first start record)."""


def rebuild(records: Iterable[LedgerRecord]) -> LedgerState:
    """Replay ledger records into orders (with their last recorded state) and fills."""
    state = LedgerState()
    for record in records:
        payload = record.payload
        if record.type is RecordType.ORDER_INTENT:
            request = OrderRequest.model_validate(payload["request"])
            state.orders[request.client_order_id] = Order(
                request=request, created_at=record.ts, updated_at=record.ts
            )
            state.order_count += 1
            state.last_decision_ts = record.ts
        elif record.type is RecordType.FILL:
            fill = Fill.model_validate(payload)
            if fill.fill_id not in state.fill_ids:
                state.fill_ids.add(fill.fill_id)
                state.fills.append(fill)
        elif record.type in _STATUS_OF:
            order = state.orders.get(payload["client_order_id"])
            if order is None:
                continue
            filled = Decimal(payload["filled_quantity"])
            average = payload.get("average_fill_price")
            state.orders[order.client_order_id] = Order.model_construct(
                **{
                    **dict(order),
                    "status": _STATUS_OF[record.type],
                    "filled_quantity": filled,
                    "average_fill_price": Decimal(average) if average else None,
                    "exchange_order_id": payload.get("exchange_order_id"),
                    "reason": payload.get("reason", ""),
                    "updated_at": record.ts,
                }
            )
        elif record.type is RecordType.DECISION:
            state.last_decision_ts = record.ts
            intent_id = payload.get("intent_id")
            if intent_id:
                state.intent_count += 1
        else:
            _take_system_record(state, record)
    return state


def _take_system_record(state: LedgerState, record: LedgerRecord) -> None:
    """Funding settlements, the kill switch, and the run's starts and stops."""
    payload = record.payload
    if record.type is RecordType.FUNDING:
        state.funding.append(dict(payload))
    elif record.type is RecordType.KILL_SWITCH:
        state.killed = True
    elif record.type is RecordType.SYSTEM_START:
        state.stopped = False
        if state.run_id is None:
            state.run_id = payload.get("run_id")
            state.initial_cash = {
                venue: Decimal(cash) for venue, cash in payload.get("initial_cash", {}).items()
            }
            currencies = payload.get("initial_currencies")
            if isinstance(currencies, dict):
                state.initial_currencies = {
                    venue: {c: Decimal(str(a)) for c, a in held.items()}
                    for venue, held in currencies.items()
                    if isinstance(held, dict)
                }
            balances = payload.get("initial_balances")
            if isinstance(balances, dict):
                state.initial_balances = {
                    venue: {asset: Decimal(str(amount)) for asset, amount in held.items()}
                    for venue, held in balances.items()
                    if isinstance(held, dict)
                }
    elif record.type is RecordType.SYSTEM_STOP:
        state.stopped = True


def run_records(
    records: Iterable[LedgerRecord], run_id: str, id_prefix: str, *, only_run: bool
) -> Iterator[LedgerRecord]:
    """The records of run ``run_id`` among those of a ledger other runs may share.

    A record names its run by a ``run_id`` in its payload (starts, stops, kill
    switch, reconciliation, and every record a paper or live run writes without
    an order id) or by its client order id, which carries the run's prefix
    (``id_prefix``: intents, order statuses, fills). A record naming neither was
    written before runs stamped their records: it is taken only when
    ``only_run`` (the ledger holds no other run), as a run's own SQLite file always
    did, and never guessed at in a ledger that runs share.
    """
    order_prefix = f"{id_prefix}-"
    for record in records:
        payload = record.payload
        owner = payload.get("run_id")
        if isinstance(owner, str):
            if owner == run_id:
                yield record
            continue
        cid = payload.get("client_order_id")
        if isinstance(cid, str):
            if cid.startswith(order_prefix):
                yield record
            continue
        if only_run:
            yield record


def run_ids(records: Iterable[LedgerRecord]) -> list[str]:
    """The ids of the runs that started in ``records`` (start records), first seen first."""
    seen: dict[str, None] = {}
    for record in records:
        if record.type is RecordType.SYSTEM_START:
            owner = record.payload.get("run_id")
            if isinstance(owner, str):
                seen.setdefault(owner, None)
    return list(seen)


@dataclass
class ReconciliationReport:
    closed_unsent: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    recovered_fills: list[str] = field(default_factory=list)
    unknown_venue_orders: list[str] = field(default_factory=list)
    position_differences: dict[str, dict[str, str]] = field(default_factory=dict)
    """``venue:symbol`` -> the ledger's and the venue's position where they differ."""
    balance_differences: dict[str, dict[str, str]] = field(default_factory=dict)
    """``venue:asset`` -> the ledger's and the venue's spot balance where they differ."""
    pending_fills: list[str] = field(default_factory=list)
    """The ledger's fills that a simulated venue, restored from a state saved before them,
    has yet to make again as it catches up; its holdings are compared as of its saved tick."""

    @property
    def differences(self) -> dict[str, dict[str, str]]:
        """Every difference left after reconciling, positions and balances together."""
        return {**self.position_differences, **self.balance_differences}

    def to_payload(self) -> dict[str, Any]:
        return {
            "closed_unsent": sorted(self.closed_unsent),
            "updated": sorted(self.updated),
            "recovered_fills": sorted(self.recovered_fills),
            "unknown_venue_orders": sorted(self.unknown_venue_orders),
            "position_differences": dict(sorted(self.position_differences.items())),
            "balance_differences": dict(sorted(self.balance_differences.items())),
            "pending_fills": sorted(self.pending_fills),
        }


class VenueCalls(Protocol):
    """The venue calls reconciliation makes, fenced and budgeted (the order manager's)."""

    async def fetch_order(self, venue: str, client_order_id: str, symbol: str) -> Order: ...

    async def fetch_open_orders(self, venue: str, symbol: str | None = None) -> Sequence[Order]: ...

    async def fetch_fills(
        self, venue: str, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]: ...


async def venue_truth(
    state: LedgerState,
    calls: VenueCalls,
    venues: Iterable[str],
    id_prefix: str,
    since: datetime | None,
) -> tuple[dict[str, Order | None], list[Fill], list[str]]:
    """Ask each venue about the ledger's open orders and for its fills since the run began.

    Returns (client id -> the venue's order, or None if unknown there), the
    venue's fills for this run's orders, and open venue orders with this run's
    prefix that the ledger does not know. Every call goes through the venue's fence
    (``calls``: the order manager), so a failing venue is named, never a traceback.
    """
    remote: dict[str, Order | None] = {}
    for cid, order in state.orders.items():
        if order.status.is_terminal:
            continue
        try:
            remote[cid] = await calls.fetch_order(order.venue, cid, order.symbol)
        except OrderNotFoundError:
            remote[cid] = None
    fills: list[Fill] = []
    strangers: list[str] = []
    for venue in venues:
        fills.extend(
            f
            for f in await calls.fetch_fills(venue, since=since)
            if f.client_order_id in state.orders
        )
        strangers.extend(
            o.client_order_id
            for o in await calls.fetch_open_orders(venue)
            if o.client_order_id.startswith(f"{id_prefix}-")
            and o.client_order_id not in state.orders
        )
    fills.sort(key=lambda f: (f.ts, f.fill_id))
    return remote, fills, strangers


def catch_up_fills(order: Order, fills: list[Fill]) -> Order:
    """The order with all its ledger fills applied, if its last status record lags behind them.

    A crash between a fill's record and the order's next status record leaves
    the order one step behind its own fills; replaying them fixes that.
    """
    total = sum((f.quantity for f in fills), Decimal(0))
    if total <= order.filled_quantity:
        return order
    status = {
        OrderStatus.CREATED: OrderStatus.SUBMITTED,
        OrderStatus.PARTIALLY_FILLED: OrderStatus.ACKNOWLEDGED,
    }.get(order.status, order.status)
    base = Order.model_construct(
        **{
            **dict(order),
            "status": status,
            "filled_quantity": Decimal(0),
            "average_fill_price": None,
            "fees": Decimal(0),
        }
    )
    if base.status is OrderStatus.SUBMITTED:
        base = base.transition(OrderStatus.ACKNOWLEDGED, ts=fills[0].ts)
    for fill in fills:
        base = base.apply_fill(fill)
    return base


def order_after_restart(local: Order, remote: Order | None, ts: datetime) -> Order:
    """The order's state once the venue's answer is taken into account (fills apart)."""
    if remote is None:
        status = OrderStatus.REJECTED
        return Order.model_construct(
            **{
                **dict(local),
                "status": status,
                "reason": "never reached the venue before the restart; not resent",
                "updated_at": ts,
            }
        )
    if local.status is OrderStatus.CREATED:
        # Only the intent was recorded, yet the venue has the order: it was sent.
        local = local.transition(OrderStatus.SUBMITTED, ts=ts)
    target = remote.status
    if target in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        # Fills move these states when they are booked; until then it rests acknowledged.
        target = OrderStatus.ACKNOWLEDGED
    if target is local.status or not local.can_transition(target):
        return local
    return local.transition(target, ts=ts, exchange_order_id=remote.exchange_order_id)
