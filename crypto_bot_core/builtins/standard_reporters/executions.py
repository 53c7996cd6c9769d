"""From ledger records to executions: each order's fills in a period, with its routing context.

The best-execution reports read what the engine records when it routes an
order (``docs/builtins/ledger-payloads.md``): the ``order.intent`` record's
``routing`` (chosen venue, reason, every venue's quote at that moment), the
decision's time (``combined.ts``, the blended signal's time), the policy and
whether the kill switch placed the order. Fills are the SDK's ``Fill``.

Decisions are linked to fills exactly as in the daily trade report: by client
order id, or by intent id through any record that names both. Only records
before the period's end are read for links, so a report re-rendered later from
a longer ledger gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crypto_bot_core.builtins.standard_reporters.trades import parse_fill, payload_ids
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
ALGORITHMIC = "algorithmic"
MANUAL = "manual"


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
    def decision_reason(self) -> str:
        if self.kill_switch:
            return f"kill switch: {self.reason}" if self.reason else "kill switch"
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


def _bad(record: LedgerRecord, what: str) -> LedgerError:
    return LedgerError(f"ledger record {record.sequence} ({record.type.value}): {what}")


def _decimal(value: Any, record: LedgerRecord, key: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _bad(record, f"{key} is {value!r}, not a decimal number") from None
    if not number.is_finite() or number <= 0:
        raise _bad(record, f"{key} is {value!r}; a price must be a positive number")
    return number


def _time(value: Any, record: LedgerRecord, key: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad(record, f"{key} is {value!r}, not an ISO 8601 timestamp") from None
    if stamp.tzinfo is None:
        raise _bad(record, f"{key} is {value!r}, a timestamp without a time zone")
    return stamp


def _quotes(raw: Any, record: LedgerRecord) -> dict[str, Quote]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _bad(record, "routing.quotes must be an object of venue -> quote")
    quotes = {}
    for venue, quote in raw.items():
        if not isinstance(quote, Mapping) or "price" not in quote:
            raise _bad(record, f"routing.quotes.{venue} lacks its 'price'")
        key = f"routing.quotes.{venue}"
        price = _decimal(quote["price"], record, f"{key}.price")
        effective = quote.get("effective_price")
        fee = quote.get("taker_fee")
        mid = quote.get("mid")
        quotes[str(venue)] = Quote(
            venue=str(venue),
            price=price,
            effective_price=(
                _decimal(effective, record, f"{key}.effective_price") if effective else price
            ),
            taker_fee=Decimal(str(fee)) if fee is not None else None,
            mid=_decimal(mid, record, f"{key}.mid") if mid is not None else None,
        )
    return quotes


def order_context(record: LedgerRecord) -> OrderContext:
    """The routing context of an ``order.intent`` record (fields missing -> neutral values)."""
    payload = record.payload
    routing = payload.get("routing") or {}
    if not isinstance(routing, Mapping):
        raise _bad(record, "routing must be an object")
    combined = payload.get("combined")
    decided = payload.get("ts")
    if isinstance(combined, Mapping) and combined.get("ts"):
        decided = combined["ts"]
    origin = payload.get("origin", ALGORITHMIC)
    if origin not in (ALGORITHMIC, MANUAL):
        raise _bad(record, f"origin is {origin!r}; use {ALGORITHMIC!r} or {MANUAL!r}")
    return OrderContext(
        sequence=record.sequence,
        decided_at=_time(decided, record, "decision time") if decided else record.ts,
        routed_at=_time(routing["ts"], record, "routing.ts") if routing.get("ts") else record.ts,
        policy=str(payload.get("policy") or ""),
        reason=str(payload.get("reason") or ""),
        origin=str(origin),
        kill_switch=bool(payload.get("kill_switch", False)),
        routed_venue=str(routing["venue"]) if routing.get("venue") else None,
        routing_reason=str(routing.get("reason") or ""),
        quotes=_quotes(routing.get("quotes"), record),
        instrument_kind=(
            str(routing["instrument_kind"]) if routing.get("instrument_kind") else None
        ),
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
            fill, _ = parse_fill(record)
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
        coid, intent_id = payload_ids(record.payload)
        if coid and intent_id:
            intent_of[coid] = intent_id
        if record.type is RecordType.ORDER_INTENT:
            context = order_context(record)
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
