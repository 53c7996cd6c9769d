"""Continuing a run after a crash or a stop: the ledger's story, checked against the venues.

At restart the engine rebuilds its orders, fills and portfolio from the
ledger, restores simulated venues from their saved state, then asks every
venue about each order the ledger left open and for its fills (see
:mod:`.reconcile`). Whatever the venue knows and the ledger does not is
recorded now; an order the venue never received is closed, not resent. The
outcome, including any position that still differs, is one reconciliation
record. Ticks already decided are replayed for market state only.

A simulated venue restored from its saved state must still know every order
the ledger says it accepted: if it does not, its state file was lost or
replaced by an older one, and reconciling would close those orders as "never
sent" and trade on a venue whose positions are not the ledger's. The resume
is refused instead (:class:`VenueStateError`), naming the venue and the orders.

Reconciliation compares positions (perpetuals) and spot balances: each asset a
spot fill moved, and the base asset of every spot market the venue lists, is
compared with what the ledger's fills add up to (plus the starting balance the
start record names, if any), and the quote currency on a venue that only
trades spot. Differences are recorded and reported, not papered over.
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
from crypto_bot_sdk import (
    CryptoBotError,
    ExchangeAdapter,
    Fill,
    InstrumentKind,
    NotSupportedError,
    OrderNotFoundError,
    OrderStatus,
    RecordType,
    parse_symbol,
)

if TYPE_CHECKING:
    from crypto_bot_core.engine.desk import Desk


def client_id_prefix(run_id: str) -> str:
    """A short, run-unique prefix for client order ids (venues allow 36 characters)."""
    return "cb" + hashlib.blake2s(run_id.encode(), digest_size=5).hexdigest()


class VenueStateError(CryptoBotError):
    """A simulated venue's saved state is missing, unreadable or older than the ledger."""

    exit_code = 4


_NOT_AT_VENUE = (OrderStatus.CREATED, OrderStatus.REJECTED)
"""Ledger states that do not prove the venue accepted the order: only the intent was
recorded, or it was refused (by the venue, or closed at a restart as never sent)."""


def accepted_orders(state: LedgerState) -> dict[str, list[str]]:
    """Per venue, the orders the ledger says it accepted (and so its saved state must hold).

    The order manager saves a simulated venue's state right after the venue
    answers and before recording the answer, so any status beyond the intent
    (or a fill) in the ledger means the venue's state file was written with
    the order in it.
    """
    with_fills = {f.client_order_id for f in state.fills}
    accepted: dict[str, list[str]] = {}
    for cid, order in state.orders.items():
        if order.status not in _NOT_AT_VENUE or cid in with_fills:
            accepted.setdefault(order.venue, []).append(cid)
    return {venue: sorted(cids) for venue, cids in accepted.items()}


async def _check_restored_venues(engine: Desk, state: LedgerState) -> None:
    """Refuse to go on if a restored simulated venue lacks orders the ledger says it accepted."""
    restored = engine.venue_marks  # the simulated venues restored from their saved state
    for venue, cids in sorted(accepted_orders(state).items()):
        if venue not in restored:
            continue
        missing: list[str] = []
        for cid in cids:
            order = state.orders[cid]
            try:
                await engine.orders.fetch_order(venue, cid, order.symbol)
            except OrderNotFoundError:
                missing.append(cid)
        if missing:
            shown = ", ".join(missing[:5])
            if len(missing) > 5:
                shown += f" and {len(missing) - 5} more"
            raise VenueStateError(
                f"refusing to go on: the saved state of venue {venue!r} does not know "
                f"{len(missing)} of the {len(cids)} order(s) the ledger says it accepted "
                f"({shown}); its state file (venues/{venue}.json in the run folder) was lost, "
                "cut short or replaced by an older copy. Restore it from a backup; nothing "
                "was sent or booked"
            )


async def _venue_balances(
    orders: OrderManager, venue: str, adapter: ExchangeAdapter[Any]
) -> dict[str, Decimal] | None:
    """The venue's own balances per asset (through its fence), or None if it has none."""
    try:
        balances = await orders.venue_call(venue, adapter.fetch_balances)
    except NotSupportedError:
        return None
    held: dict[str, Decimal] = {}
    for balance in balances:
        held[balance.asset] = held.get(balance.asset, Decimal(0)) + balance.total
    return held


def expected_spot_balances(
    engine: Desk, state: LedgerState, venue: str, pending: frozenset[str] = frozenset()
) -> dict[str, Decimal]:
    """What the ledger says ``venue`` holds of each spot asset it can vouch for.

    Fills in ``pending`` (booked, but after the venue's saved state: see
    :func:`pending_fills`) are left out: the venue has not made them yet.

    Every booked spot fill moves its base asset by the quantity, its quote by
    the notional and its fee currency by the fee; added to the starting balance
    (the start record's, where it names one, else none) that gives the base
    asset of every spot market the venue lists. The portfolio's own currency is
    compared too, from the recorded starting cash, where the venue trades only
    spot markets quoted in it and starts with no other currency; elsewhere its
    starting balance is a valuation (other currencies, perpetuals' margin, P&L
    and funding by the venue's own rules), not something a fill total can check.
    """
    initial = state.initial_balances.get(venue, {})
    quote = engine.portfolio.quote_currency
    account = engine.portfolio.accounts.get(venue)
    checked = {
        parse_symbol(symbol)[0]
        for (v, symbol), instrument in engine.instruments.items()
        if v == venue and instrument.kind is InstrumentKind.SPOT
    }
    single = not getattr(account, "other", None) and not getattr(account, "initial_other", None)
    moved: dict[str, Decimal] = {}
    for row in engine.trades:
        fill = row.fill
        if fill.venue != venue or fill.fill_id in pending:
            continue
        instrument = engine.instruments.get((venue, fill.symbol))
        if instrument is None or instrument.kind is not InstrumentKind.SPOT:
            single = False
            continue
        base, quote_of, _ = parse_symbol(fill.symbol)
        single = single and quote_of == quote
        signed = fill.quantity * fill.side.sign * instrument.contract_size
        moved[base] = moved.get(base, Decimal(0)) + signed
        moved[quote_of] = moved.get(quote_of, Decimal(0)) - signed * fill.price
        moved[fill.fee_currency] = moved.get(fill.fee_currency, Decimal(0)) - fill.fee
    if any(s["venue"] == venue for s in state.funding):
        single = False
    start = {asset: initial.get(asset, Decimal(0)) for asset in checked}
    if quote in initial:
        start[quote] = initial[quote]
    elif single and venue in state.initial_cash:
        start[quote] = state.initial_cash[venue]
    return {asset: amount + moved.get(asset, Decimal(0)) for asset, amount in start.items()}


def pending_fills(engine: Desk, state: LedgerState, known: set[str]) -> dict[str, list[Fill]]:
    """Per restored simulated venue, the ledger's fills it has not made yet, but will.

    A crash between a fill's ledger record and the venue's next save leaves the
    venue's saved state older than the ledger. Restored, the venue is fed the
    market events after its saved tick and makes those fills again (booked once:
    the ledger already has them). Until then its balances and positions are
    compared with the ledger *as of its saved tick*: its state is older, not
    different. A fill the venue does not know dated at or before that tick (or
    at a venue saved with no tick) is never made again, and stays a difference.
    """
    pending: dict[str, list[Fill]] = {}
    for fill in state.fills:
        mark = engine.venue_marks.get(fill.venue)
        if mark is not None and fill.ts > mark and fill.fill_id not in known:
            pending.setdefault(fill.venue, []).append(fill)
    return pending


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


async def _compare_holdings(
    engine: Desk, state: LedgerState, report: ReconciliationReport, pending: dict[str, list[Fill]]
) -> None:
    """Each venue's own positions and spot balances against the ledger's, as of what the
    venue has seen (``pending``: fills it has yet to make again); differences go in ``report``.

    Positions are compared both ways: one the venue holds that the ledger lacks,
    and one the ledger holds that the venue lacks.
    """
    orders = engine.orders
    for venue, adapter in engine.exchanges.items():
        later: dict[str, Decimal] = {}
        for fill in pending.get(venue, []):
            later[fill.symbol] = later.get(fill.symbol, Decimal(0)) + fill.quantity * fill.side.sign
        held = await _venue_positions(orders, venue, adapter)
        ledger_symbols = {
            symbol
            for (v, symbol), instrument in engine.instruments.items()
            if v == venue and instrument.kind is not InstrumentKind.SPOT
        }
        for symbol in sorted(set(held) | ledger_symbols):
            ours = engine.portfolio.position_quantity(venue, symbol) - later.get(symbol, Decimal(0))
            theirs = held.get(symbol, Decimal(0))
            if ours != theirs:
                report.position_differences[f"{venue}:{symbol}"] = {
                    "ledger": str(ours),
                    "venue": str(theirs),
                }
        balances = await _venue_balances(orders, venue, adapter)
        if balances is None:
            continue
        skip = frozenset(f.fill_id for f in pending.get(venue, []))
        for asset, expected in sorted(expected_spot_balances(engine, state, venue, skip).items()):
            actual = balances.get(asset, Decimal(0))
            if actual != expected:
                report.balance_differences[f"{venue}:{asset}"] = {
                    "ledger": str(expected),
                    "venue": str(actual),
                }


async def continue_run(engine: Desk, state: LedgerState) -> ReconciliationReport:
    """Load ``state`` into ``engine`` and reconcile it with the venues; record the outcome."""
    orders = engine.orders
    lagging = _load(engine, state)
    await _check_restored_venues(engine, state)
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
    pending = pending_fills(engine, state, {f.fill_id for f in fills})
    report.pending_fills = [f.fill_id for held in pending.values() for f in held]
    await _compare_holdings(engine, state, report, pending)
    still_open = sorted(o.client_order_id for o in orders.open_orders())
    engine.ledger.append(
        RecordType.RECONCILIATION,
        {
            "run_id": engine.run_id,
            **report.to_payload(),
            "open_orders": still_open,
            "filled_orders": sorted(
                cid for cid, o in orders.orders.items() if o.status is OrderStatus.FILLED
            ),
        },
        ts=ts,
    )
    return report
