"""Continuing a run after a crash or a stop: the ledger's story, checked against the venues.

At restart the engine rebuilds its orders, fills and portfolio from the
ledger, restores simulated venues from their saved state, then asks every
venue about each order the ledger left open and for its fills (see
:mod:`.reconcile`). Whatever the venue knows and the ledger does not is
recorded now; an order the venue never received is closed, not resent. The
outcome, including any position that still differs, is one reconciliation
record. Ticks already decided are replayed for market state only.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.engine.orders import STATUS_RECORD, OrderManager
from crypto_bot_core.engine.reconcile import (
    LedgerState,
    ReconciliationReport,
    catch_up_fills,
    order_after_restart,
    venue_truth,
)
from crypto_bot_core.engine.summary import TradeRow
from crypto_bot_sdk import ExchangeAdapter, Fill, NotSupportedError, OrderStatus, RecordType

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk


def client_id_prefix(run_id: str) -> str:
    """A short, run-unique prefix for client order ids (venues allow 36 characters)."""
    return "cb" + hashlib.blake2s(run_id.encode(), digest_size=5).hexdigest()


async def _venue_positions(
    orders: OrderManager, venue: str, adapter: ExchangeAdapter[Any]
) -> dict[str, Decimal]:
    """The venue's own positions (through its fence), or none for a venue without them."""
    try:
        positions = await orders.venue_call(venue, adapter.fetch_positions)
    except NotSupportedError:
        return {}
    return {p.symbol: p.quantity for p in positions}


def _load(engine: Desk, state: LedgerState) -> list[str]:
    """Book the ledger's fills and orders into the engine; return orders that lagged their fills."""
    orders = engine.orders
    for fill in state.fills:
        orders.seen_fills.add(fill.fill_id)
        instrument = engine.instruments[(fill.venue, fill.symbol)]
        realised = engine.portfolio.apply_fill(fill, instrument)
        engine.trades.append(TradeRow(fill, realised))
        engine.stats.fills += 1
    for settlement in state.funding:
        engine.portfolio.apply_funding(
            settlement["venue"],
            settlement["symbol"],
            Decimal(settlement["rate"]),
            Decimal(settlement["mark"]),
        )
        engine.funded.add((settlement["venue"], settlement["symbol"], settlement["funding_ts"]))
    by_order: dict[str, list[Fill]] = {}
    for fill in state.fills:
        by_order.setdefault(fill.client_order_id, []).append(fill)
    lagging: list[str] = []
    for cid, order in list(state.orders.items()):
        caught_up = catch_up_fills(order, by_order.get(cid, []))
        if caught_up is not order:
            state.orders[cid] = caught_up
            lagging.append(cid)
        orders.adopt(caught_up)
    orders.restart_sequence(state.order_count)
    engine.stats.intents = state.intent_count + state.order_count
    engine.decide_after = state.last_decision_ts
    return lagging


async def continue_run(engine: Desk, state: LedgerState) -> ReconciliationReport:
    """Load ``state`` into ``engine`` and reconcile it with the venues; record the outcome."""
    orders = engine.orders
    lagging = _load(engine, state)
    report = ReconciliationReport()
    for cid in lagging:
        order = state.orders[cid]
        orders.record_status(order, order.updated_at, reconciled=True)
        report.updated.append(cid)
    first_ts = min((o.created_at for o in state.orders.values()), default=None)
    remote, fills, strangers = await venue_truth(
        state, orders, list(engine.exchanges), orders.id_prefix, first_ts
    )
    ts = state.last_decision_ts
    for cid, venue_order in remote.items():
        local = state.orders[cid]
        moved = order_after_restart(local, venue_order, ts or local.updated_at)
        if moved is not local:
            orders.adopt(moved)
            if moved.status in STATUS_RECORD:
                orders.record_status(moved, moved.updated_at, reconciled=True)
            (report.closed_unsent if venue_order is None else report.updated).append(cid)
    for fill in fills:
        if fill.fill_id not in orders.seen_fills:
            engine.book(fill)
            report.recovered_fills.append(fill.fill_id)
    report.unknown_venue_orders.extend(strangers)

    differences: dict[str, dict[str, str]] = {}
    for venue, adapter in engine.exchanges.items():
        for symbol, quantity in (await _venue_positions(orders, venue, adapter)).items():
            ours = engine.portfolio.position_quantity(venue, symbol)
            if ours != quantity:
                differences[f"{venue}:{symbol}"] = {"ledger": str(ours), "venue": str(quantity)}
    still_open = sorted(o.client_order_id for o in orders.open_orders())
    engine.ledger.append(
        RecordType.RECONCILIATION,
        {
            "run_id": engine.run_id,
            **report.to_payload(),
            "position_differences": differences,
            "open_orders": still_open,
            "filled_orders": sorted(
                cid for cid, o in orders.orders.items() if o.status is OrderStatus.FILLED
            ),
        },
        ts=ts,
    )
    return report
