"""The kill switch: stop trading, cancel everything, flatten everything, prove it, say so.

It is reachable from a risk rule (the drawdown limit), from code, from the
service (``POST /shutdown``) and from the CLI (``cryptobot kill``). The order of
the steps is the point:

1. the ``system.kill_switch`` record, dated no earlier than anything the run has
   recorded (:func:`kill_time`), naming who decided: a person (the service
   token's subject, the CLI user) or the algorithm (a risk rule);
2. every order of this run still open - in the engine's book *and* in the
   venues' own lists, read through each venue's fence - is cancelled;
3. every position is closed by the quantity the venue itself reports
   (:func:`venue_exposure`): a perpetual's position from ``fetch_positions``, a
   spot holding as the net of this run's own fills at that venue (its starting
   balances are not the run's to sell). The ledger's book is not trusted for
   the size: after a crash it is exactly what may be wrong;
4. once the flattening orders are done (:func:`settle_stopped` drives a
   stopped run's market forward, strictly after its last recorded moment, so
   nothing is booked for the past), :func:`verify_after_kill` reads open
   orders, positions, fills and balances back from every venue and records the
   outcome. Only then is the final stop record written; what is left is named
   venue by venue, and ``cryptobot kill`` exits non-zero while anything is.

A venue that fails to cancel or flatten does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from crypto_bot_core.engine.desk import Desk
from crypto_bot_core.engine.funding import FUNDING_METRIC, funding_key
from crypto_bot_sdk import (
    TERMINAL_STATUSES,
    ExchangeError,
    InstrumentKind,
    MarketEvent,
    MetricPoint,
    NotSupportedError,
    OrderIntent,
    OrderNotFoundError,
    OrderStatus,
    OrderType,
    RecordType,
    Side,
    TimeInForce,
    parse_symbol,
)

if TYPE_CHECKING:
    from crypto_bot_core.engine.durability import VenueStateStore
    from crypto_bot_core.engine.reconcile import LedgerState

MANUAL = "manual"
ALGORITHMIC = "algorithmic"
SETTLE_WITHIN_S = 60.0
"""Seconds a stopped run's kill waits (wall clock) for its flattening orders to fill."""
FLAT_REASON = "settled after the kill switch"


class Settling(Desk, Protocol):
    """What settling a stopped run needs of the engine beyond the :class:`Desk`: its loop's
    own parts (the merged market, one tick, the simulated venues' matching, their saved
    state). Typed here, not by importing the kernel, which imports this module."""

    killed_at: datetime | None
    kill_left: tuple[str, ...] | None
    kill_requested: Callable[[], str | None] | None

    @property
    def state_store(self) -> VenueStateStore | None: ...
    @property
    def _matchers(self) -> list[tuple[str, Callable[[MarketEvent], Any], bool]]: ...

    def _blocks(
        self, start: datetime | None, end: datetime | None
    ) -> AsyncIterator[list[list[MarketEvent]]]: ...

    async def step(self, events: Sequence[MarketEvent]) -> Any: ...


def decision_of(decided_by: str | None) -> dict[str, Any]:
    """Who decided the kill, as the kill record and its orders carry it.

    A person's kill (the service, the CLI) is a manual decision: MiFIR field 57
    then names a person, and the best-execution report says ``manual``. A risk
    rule's kill is the algorithm's.
    """
    if decided_by:
        return {"origin": MANUAL, "decided_by": decided_by}
    return {"origin": ALGORITHMIC, "decided_by": None}


def _clock_now(engine: Desk) -> datetime | None:
    try:
        return engine.now()
    except LookupError:
        return None


def kill_time(engine: Desk, not_before: datetime | None = None) -> datetime:
    """When the kill happens: the engine's time, never before ``not_before`` (the last moment
    the run recorded), so the kill and whatever it books come after everything already
    reported. With no time at all (a run killed before its first event) the wall clock."""
    candidates = [t for t in (_clock_now(engine), not_before) if t is not None]
    return max(candidates) if candidates else datetime.now(UTC)


def last_recorded_time(engine: Desk, state: LedgerState | None) -> datetime | None:
    """The latest market time the run is known to have reached: its venues' saved ticks,
    its last decision, order update, fill and funding settlement. A stopped run's kill
    processes only events after it."""
    times: list[datetime] = [t for t in engine.venue_marks.values() if t is not None]
    if engine.decide_after is not None:
        times.append(engine.decide_after)
    if state is not None:
        times.extend(f.ts for f in state.fills)
        times.extend(o.updated_at for o in state.orders.values())
        times.extend(datetime.fromisoformat(f["funding_ts"]) for f in state.funding)
    return max(times) if times else None


def _ours(engine: Desk, client_order_id: str) -> bool:
    return client_order_id.startswith(engine.orders.id_prefix)


def _is_perpetual(engine: Desk, venue: str, symbol: str) -> bool:
    instrument = engine.instruments.get((venue, symbol))
    if instrument is not None:
        return instrument.kind is InstrumentKind.PERPETUAL
    try:
        return parse_symbol(symbol)[2] is not None
    except ValueError:
        return False


async def _cancel_everything(engine: Desk, ts: datetime) -> list[str]:
    """Cancel the engine's open orders, then any order of this run a venue still lists."""
    orders = engine.orders
    problems: list[str] = []
    for order in list(orders.open_orders()):
        try:
            await orders.cancel(order.client_order_id, ts)
        except OrderNotFoundError:
            pass  # the venue never had it: nothing is working there
        except ExchangeError as exc:
            problems.append(f"cancel {order.client_order_id} on {order.venue}: {exc}")
    for venue, adapter in sorted(engine.exchanges.items()):
        try:
            listed = await orders.fetch_open_orders(venue)
        except ExchangeError as exc:
            problems.append(f"list the open orders on {venue}: {exc}")
            continue
        for remote in listed:
            cid = remote.client_order_id
            if not _ours(engine, cid) or remote.status in TERMINAL_STATUSES:
                continue
            known = orders.orders.get(cid)
            try:
                if known is not None and known.status not in TERMINAL_STATUSES:
                    await orders.cancel(cid, ts)
                else:
                    # Working at the venue though the ledger has it closed or never heard of
                    # it (a crash between the venue's answer and the record): cancelled at
                    # the venue all the same.
                    await orders.order_call(venue, adapter.cancel_order, cid, remote.symbol)
                    if orders.state_store is not None:
                        orders.state_store.persist(venue)
            except OrderNotFoundError:
                pass
            except ExchangeError as exc:
                problems.append(f"cancel {cid} on {venue}: {exc}")
    return problems


async def venue_exposure(
    engine: Desk, venue: str, since: datetime | None = None
) -> dict[str, Decimal]:
    """What this run holds at ``venue`` by the venue's own state, per symbol (signed).

    Perpetuals: the venue's positions (a venue that reports none: the net of the
    run's fills there). Spot: what the run's own fills at the venue bought, net of
    fees the venue took in the asset, and never more than the venue's balance of it
    - the account's other holdings are not the run's to sell, and a sale the run
    made of them is nothing the kill buys back. Raises the venue's
    ``ExchangeError`` when it cannot be read.
    """
    orders = engine.orders
    adapter = engine.exchanges[venue]
    held: dict[str, Decimal] = {}
    bought: dict[str, Decimal] = {}
    positions_known = True
    try:
        for position in await orders.venue_call(venue, adapter.fetch_positions):
            if position.quantity != 0:
                held[position.symbol] = position.quantity
    except NotSupportedError:
        positions_known = False
    for fill in await orders.fetch_fills(venue, None, since=since):
        if not _ours(engine, fill.client_order_id):
            continue
        signed = fill.quantity * fill.side.sign
        if not _is_perpetual(engine, venue, fill.symbol):
            base = parse_symbol(fill.symbol)[0]
            fee = fill.fee if fill.fee_currency == base else Decimal(0)
            bought[fill.symbol] = bought.get(fill.symbol, Decimal(0)) + signed - fee
        elif not positions_known:
            held[fill.symbol] = held.get(fill.symbol, Decimal(0)) + signed
    if any(quantity > 0 for quantity in bought.values()):
        balances = _balances(await orders.fetch_balances(venue))
        for symbol, quantity in bought.items():
            holding = min(quantity, balances.get(parse_symbol(symbol)[0], Decimal(0)))
            if holding > 0:
                held[symbol] = holding
    return {symbol: quantity for symbol, quantity in held.items() if quantity != 0}


def _first_order_time(engine: Desk) -> datetime | None:
    return min((o.created_at for o in engine.orders.orders.values()), default=None)


async def flatten_everything(
    engine: Desk,
    reason: str,
    *,
    decided_by: str | None = None,
    at: datetime | None = None,
) -> list[str]:
    """Cancel open orders and close positions on every venue; return the problems met."""
    ts = at if at is not None else kill_time(engine)
    decision = decision_of(decided_by)
    problems: list[str] = []
    engine.ledger.append(
        RecordType.KILL_SWITCH,
        {"run_id": engine.run_id, "reason": reason, **decision},
        ts=ts,
    )
    problems.extend(await _cancel_everything(engine, ts))
    since = _first_order_time(engine)
    for venue in sorted(engine.exchanges):
        try:
            exposure = await venue_exposure(engine, venue, since)
        except ExchangeError as exc:
            problems.append(f"read the positions on {venue}: {exc}")
            continue
        for symbol, quantity in sorted(exposure.items()):
            perpetual = _is_perpetual(engine, venue, symbol)
            if (venue, symbol) not in engine.instruments:
                problems.append(f"flatten {symbol} on {venue}: the venue lists no such market")
                continue
            side = Side.SELL if quantity > 0 else Side.BUY
            intent = OrderIntent.model_construct(
                intent_id=f"{engine.run_id[:12]}-kill-{venue}-{symbol}",
                symbol=symbol,
                venue=venue,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(quantity),
                price=None,
                stop_price=None,
                time_in_force=TimeInForce.GTC,
                reduce_only=True,
                post_only=False,
                ts=ts,
                policy="kill-switch",
                reason=reason,
            )
            order = await engine.orders.submit(
                intent,
                venue=venue,
                quantity=abs(quantity),
                ts=ts,
                decision={"kill_switch": True, **decision},
                # Reduce-only exists for derivatives; a spot sale of what is held is the same.
                reduce_only=perpetual,
            )
            if order.status is OrderStatus.REJECTED:
                problems.append(f"flatten {symbol} on {venue}: {order.reason}")
    engine.ledger.append(
        RecordType.SYSTEM_STOP,
        {"run_id": engine.run_id, "reason": f"kill switch: {reason}", "problems": problems},
        ts=ts,
    )
    return problems


async def _batches(
    engine: Settling, start: datetime | None, end: datetime | None
) -> AsyncGenerator[list[MarketEvent], None]:
    """The run's market, one timestamp's events at a time."""
    async for block in engine._blocks(start, end):
        for batch in block:
            yield batch


def _no_funding_booked(engine: Settling, batch: list[MarketEvent]) -> None:
    """Mark this tick's funding settlements as booked: a simulated venue catching up still
    settles them on its own account, but the ledger gets no payment for the past."""
    for event in batch:
        if not isinstance(event, MetricPoint) or event.name != FUNDING_METRIC:
            continue
        label = event.labels.get("venue")
        for venue in engine.exchanges:
            if event.symbol is not None and label in (None, venue):
                engine.funded.add(funding_key(venue, event.symbol, event.ts))


async def _catch_up(
    engine: Settling,
    batches: AsyncGenerator[list[MarketEvent], None],
    horizon: datetime | None,
) -> list[MarketEvent] | None:
    """Feed simulated venues the events between their last save and ``horizon`` (deciding
    nothing, booking no funding); return the first tick after the horizon, if it came."""
    marks = [engine.venue_marks.get(venue) for venue, _, _ in engine._matchers]
    floor = None if not marks or None in marks else min(m for m in marks if m is not None)
    if not marks or horizon is None or (floor is not None and floor >= horizon):
        return None
    async for batch in batches:
        ts = batch[0].ts
        if floor is not None and ts <= floor:
            continue
        if ts > horizon:
            return batch
        _no_funding_booked(engine, batch)
        await engine.step(batch)
    return None


async def settle_stopped(
    engine: Settling,
    *,
    reason: str | None,
    decided_by: str | None,
    start: datetime | None,
    end: datetime | None,
    horizon: datetime | None,
    within_s: float = SETTLE_WITHIN_S,
) -> None:
    """Kill a stopped run (``reason``; None: a run killed before, being resumed) and settle it.

    ``horizon`` is the last moment the run is known to have reached. Simulated
    venues restored from their saved state first catch up to it - they see the
    events after their last save, exactly as on ``--resume``, so a fill the
    ledger recorded before the crash exists at the venue too - with no decision
    taken and no funding booked. Then the kill switch trips, dated at the
    horizon, and only market events strictly after it are processed until no
    order of the run is open: the flattening orders fill at prices the market
    gives after the kill, and nothing is booked for the past. A finite data set
    that ends first leaves them open (the verification says so); ``within_s``
    bounds the wait on a live feed.
    """
    engine.kill_requested = None  # a KILL file left from before asks for nothing more
    if horizon is not None and engine.decide_after is not None:
        horizon = max(horizon, engine.decide_after)
    if horizon is not None:
        engine.decide_after = horizon  # nothing up to the horizon is decided again
    batches = _batches(engine, start, end)
    try:
        pending = await _catch_up(engine, batches, horizon)
        store = engine.state_store
        if store is not None and horizon is not None:
            # The venues have seen everything up to the horizon now: what the kill saves of
            # them must say so, or a later restore would match those events again.
            store.tick = horizon if store.tick is None else max(store.tick, horizon)
        if reason is not None:
            await engine.kill(reason, decided_by=decided_by, at=horizon)
        if not engine.orders.any_open():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                if pending is not None:
                    await engine.step(pending)
                async for batch in batches:
                    if not engine.orders.any_open():
                        break
                    if horizon is not None and batch[0].ts <= horizon:
                        continue
                    await engine.step(batch)
    finally:
        await batches.aclose()


async def verify_after_kill(engine: Desk) -> tuple[list[str], dict[str, Any]]:
    """Read every venue back and list what this run still has there: open orders, positions,
    spot holdings bought by its fills (with the venue's balance of the asset), or a venue
    that could not be read (which cannot count as flat)."""
    orders = engine.orders
    left: list[str] = []
    venues: dict[str, Any] = {}
    since = _first_order_time(engine)
    for venue, adapter in sorted(engine.exchanges.items()):
        seen: dict[str, Any] = {}
        venues[venue] = seen
        try:
            listed = await orders.fetch_open_orders(venue)
            working = [o for o in listed if _ours(engine, o.client_order_id) and o.status.is_open]
            seen["open_orders"] = [o.client_order_id for o in working]
            for o in working:
                left.append(
                    f"{venue}: open order {o.client_order_id} ({o.request.side.value} "
                    f"{o.request.quantity - o.filled_quantity} {o.symbol}, {o.status.value})"
                )
            exposure = await venue_exposure(engine, venue, since)
            balances = _balances(await orders.venue_call(venue, adapter.fetch_balances))
        except ExchangeError as exc:
            seen["error"] = str(exc)
            left.append(f"{venue}: could not be read, so it is not known to be flat: {exc}")
            continue
        seen["positions"] = {s: format(q, "f") for s, q in sorted(exposure.items())}
        seen["balances"] = {a: format(q, "f") for a, q in sorted(balances.items())}
        for symbol, quantity in sorted(exposure.items()):
            if _is_perpetual(engine, venue, symbol):
                left.append(f"{venue}: position {format(quantity, 'f')} {symbol}")
                continue
            base = parse_symbol(symbol)[0]
            left.append(
                f"{venue}: holds {format(quantity, 'f')} {base} bought by this run's fills on "
                f"{symbol} (the venue's {base} balance: {format(balances.get(base, 0), 'f')})"
            )
    return left, venues


def _balances(listed: Any) -> Mapping[str, Decimal]:
    return {b.asset: b.total for b in listed if b.total != 0}


async def conclude_kill(engine: Settling) -> str:
    """Verify a killed run by its venues, record the outcome, and return the final stop
    record's reason: :data:`FLAT_REASON` when every venue is flat, else what is left."""
    left, venues = await verify_after_kill(engine)
    engine.kill_left = tuple(left)
    ts = kill_time(engine, engine.killed_at)
    engine.ledger.append(
        RecordType.RECONCILIATION,
        {
            "run_id": engine.run_id,
            "kill_switch_check": True,
            "flat": not left,
            "left": left,
            "venues": venues,
        },
        ts=ts,
    )
    if not left:
        return FLAT_REASON
    return "kill switch: NOT flat by the venues' own state: " + "; ".join(left)


DECIDED_BY = "decided-by:"
"""The line of a kill request (the run folder's ``KILL`` file) that names who asked."""


def kill_request_text(reason: str, decided_by: str) -> str:
    """The ``KILL`` file ``cryptobot kill`` writes for a running session."""
    return f"{reason}\n{DECIDED_BY} {decided_by}\n"


def read_kill_request(text: str) -> tuple[str, str]:
    """The reason and the person of a kill request. A ``KILL`` file written by hand names no
    one: a person wrote it all the same, so the kill is manual, by an unnamed operator."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    decided_by = "unnamed operator (KILL file)"
    if lines and lines[-1].startswith(DECIDED_BY):
        decided_by = lines.pop()[len(DECIDED_BY) :].strip() or decided_by
    return (" ".join(lines) or "kill requested"), decided_by
