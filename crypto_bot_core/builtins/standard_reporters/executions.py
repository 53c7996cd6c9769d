"""From ledger records to executions: each order's fills in a period, with its routing context.

The best-execution reports read what the engine records when it routes an
order (``docs/builtins/ledger-payloads.md``): the ``order.intent`` record's
``routing`` (chosen venue, reason, every venue's quote at that moment), the
decision's time (``combined.ts``, the blended signal's time), the policy and
whether the kill switch placed the order, read as the typed ``RoutedIntent``
of ``payloads``. Fills are the SDK's ``Fill`` (its ``FillPayload``).

Decisions are linked to fills exactly as in the daily trade report: by client
order id, or by intent id through any order or decision record that names both. Only records
before the period's end are read for links, so a report re-rendered later from
a longer ledger gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crypto_bot_core.builtins.standard_reporters.payloads import (
    MANUAL,
    RoutedIntent,
    RoutingView,
    read,
    read_fill,
)
from crypto_bot_core.builtins.standard_reporters.trades import order_links
from crypto_bot_sdk import (
    Fill,
    LedgerError,
    LedgerRecord,
    Liquidity,
    RecordType,
    ReportPeriod,
    Side,
    parse_symbol,
)

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Quote:
    """One venue's price when the order was routed (``price`` is the last price seen)."""

    venue: str
    price: Decimal
    effective_price: Decimal
    taker_fee: Decimal | None
    mid: Decimal | None

    @property
    def arrival(self) -> tuple[Decimal, str]:
        """The arrival benchmark: the book's mid when recorded, else the last price."""
        return (self.mid, "mid") if self.mid is not None else (self.price, "last")

    def as_json(self) -> dict[str, str]:
        data = {
            "price": format(self.price, "f"),
            "effective_price": format(self.effective_price, "f"),
        }
        if self.taker_fee is not None:
            data["taker_fee"] = format(self.taker_fee, "f")
        if self.mid is not None:
            data["mid"] = format(self.mid, "f")
        return data


@dataclass(frozen=True)
class OrderContext:
    """Why and where an order went, as recorded before it was sent."""

    sequence: int
    decided_at: datetime
    routed_at: datetime
    policy: str
    reason: str
    origin: str
    kill_switch: bool
    decided_by: str | None
    routed_venue: str | None
    routing_reason: str
    quotes: Mapping[str, Quote]
    instrument_kind: str | None

    def best_quote(self, side: Side) -> Quote | None:
        """The venue the router's rule prefers: best price after taker fees, ties by name."""
        if not self.quotes:
            return None
        ordered = sorted(self.quotes.values(), key=lambda q: q.venue)
        if side is Side.BUY:
            return min(ordered, key=lambda q: q.effective_price)
        return max(ordered, key=lambda q: q.effective_price)

    @property
    def manual(self) -> bool:
        return self.origin == MANUAL

    @property
    def decision_reason(self) -> str:
        if self.kill_switch:
            text = f"kill switch: {self.reason}" if self.reason else "kill switch"
            return f"{text} (decided by {self.decided_by})" if self.decided_by else text
        text = f"policy {self.policy}" if self.policy else "no policy recorded"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass
class Execution:
    """One order's fills inside the period (oldest first) and the context it was sent with."""

    client_order_id: str
    fills: list[Fill] = field(default_factory=list)
    context: OrderContext | None = None

    @property
    def first(self) -> Fill:
        return self.fills[0]

    @property
    def quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))

    @property
    def notional(self) -> Decimal:
        return sum((f.notional for f in self.fills), Decimal(0))

    @property
    def liquidity(self) -> str:
        kinds = {f.liquidity for f in self.fills}
        return next(iter(kinds)).value if len(kinds) == 1 else "mixed"

    def arrival(self) -> tuple[Decimal, str] | None:
        """The routed venue's arrival benchmark, if the order was routed with quotes."""
        if self.context is None or self.context.routed_venue is None:
            return None
        quote = self.context.quotes.get(self.context.routed_venue)
        return quote.arrival if quote is not None else None


def slippage_bps(side: Side, price: Decimal, arrival: Decimal) -> Decimal:
    """Cost against the arrival price in basis points: positive when worse than arrival."""
    signed = price - arrival if side is Side.BUY else arrival - price
    return signed / arrival * BPS


def instrument_class(symbol: str, kind: str | None, overrides: Mapping[str, str]) -> str:
    """``crypto_spot`` / ``crypto_perpetual`` from the recorded kind or the ccxt symbol."""
    if symbol in overrides:
        return overrides[symbol]
    if kind is None:
        kind = "spot" if parse_symbol(symbol)[2] is None else "perpetual"
    return f"crypto_{kind}"


def _quotes(routing: RoutingView) -> dict[str, Quote]:
    """The recorded quotes; one without an ``effective_price`` is taken at its price."""
    return {
        venue: Quote(
            venue=venue,
            price=quote.price,
            effective_price=(
                quote.effective_price if quote.effective_price is not None else quote.price
            ),
            taker_fee=quote.taker_fee,
            mid=quote.mid,
        )
        for venue, quote in (routing.quotes or {}).items()
    }


def order_context(record: LedgerRecord, intent: RoutedIntent | None = None) -> OrderContext:
    """The routing context of an ``order.intent`` record (fields missing -> neutral values).

    ``intent`` is the record already read as a ``RoutedIntent``, so a caller
    that needed its ids first does not validate the payload twice.
    """
    intent = intent if intent is not None else read(record, RoutedIntent)
    routing = intent.routing or RoutingView()
    combined = intent.combined.ts if intent.combined is not None else None
    return OrderContext(
        sequence=record.sequence,
        decided_at=combined or intent.ts or record.ts,
        routed_at=routing.ts or record.ts,
        policy=intent.policy or "",
        reason=intent.reason or "",
        origin=intent.origin,
        kill_switch=bool(intent.kill_switch),
        decided_by=intent.decided_by or None,
        routed_venue=routing.venue or None,
        routing_reason=routing.reason or "",
        quotes=_quotes(routing),
        instrument_kind=routing.instrument_kind or None,
    )


def executions(records: Sequence[LedgerRecord], period: ReportPeriod) -> list[Execution]:
    """Orders with fills in ``period``, ordered by first fill time, venue and order id."""
    by_order: dict[str, OrderContext] = {}
    by_intent: dict[str, OrderContext] = {}
    intent_of: dict[str, str] = {}
    found: dict[str, Execution] = {}
    seen: dict[str, int] = {}
    for record in sorted(records, key=lambda r: r.sequence):
        if record.type is RecordType.FILL:
            fill = read_fill(record)
            if not period.contains(fill.ts):
                continue
            if fill.fill_id in seen:
                raise LedgerError(
                    f"fill {fill.fill_id!r} appears twice in the period (ledger records "
                    f"{seen[fill.fill_id]} and {record.sequence}); the ledger must book a "
                    "fill once"
                )
            seen[fill.fill_id] = record.sequence
            found.setdefault(fill.client_order_id, Execution(fill.client_order_id)).fills.append(
                fill
            )
            continue
        if record.ts >= period.end:
            continue
        routed = read(record, RoutedIntent) if record.type is RecordType.ORDER_INTENT else None
        if routed is not None:
            coid, intent_id = routed.order_id, routed.intent
        else:
            coid, intent_id = order_links(record)
        if coid and intent_id:
            intent_of[coid] = intent_id
        if routed is not None:
            context = order_context(record, routed)
            if coid:
                by_order[coid] = context
            if intent_id:
                by_intent[intent_id] = context
    result = []
    for coid, execution in found.items():
        execution.fills.sort(key=lambda f: (f.ts, f.fill_id))
        linked = intent_of.get(coid)
        execution.context = by_order.get(coid) or (by_intent.get(linked) if linked else None)
        result.append(execution)
    result.sort(key=lambda e: (e.first.ts, e.first.venue, e.client_order_id))
    return result


def is_passive(fill: Fill) -> bool:
    return fill.liquidity is Liquidity.MAKER
