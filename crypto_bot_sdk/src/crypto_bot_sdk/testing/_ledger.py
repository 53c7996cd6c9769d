"""Hash-linked ledger records for reporter tests: a chain builder, a sample trading
session, and copies of records moved outside a report's period.

The records are built through the SDK's models and the order lifecycle, so a
reporter is tested on what the engine writes, not on hand-made dictionaries.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from crypto_bot_sdk._decisions import LedgerRecord, RecordType
from crypto_bot_sdk._market import Side, parse_symbol
from crypto_bot_sdk._orders import Fill, Order, OrderIntent, OrderRequest, OrderStatus
from crypto_bot_sdk.testing._fakes import DEFAULT_VENUE, FIXED_NOW, make_intent

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> bytes:
    def default(obj: object) -> str:
        if isinstance(obj, Decimal):
            return format(obj, "f")
        if isinstance(obj, datetime):
            return obj.isoformat()
        raise TypeError(f"ledger payload value {obj!r} is not JSON-serialisable")

    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    ).encode()


class LedgerChain:
    """Builds hash-linked :class:`LedgerRecord` sequences for reporter tests.

    Each record's hash is the SHA-256 of the canonical JSON of its sequence,
    time, type, payload and predecessor's hash. It is linked like the real
    ledger's chain but is not guaranteed to be byte-compatible with it, so a
    reporter under test must not verify hashes itself (the ledger does that).
    """

    def __init__(self, *, start_sequence: int = 0, prev_hash: str = GENESIS_HASH) -> None:
        self._next_sequence = start_sequence
        self._prev_hash = prev_hash
        self._records: list[LedgerRecord] = []

    @property
    def records(self) -> tuple[LedgerRecord, ...]:
        return tuple(self._records)

    def append(
        self, record_type: RecordType, payload: Mapping[str, Any], ts: datetime
    ) -> LedgerRecord:
        body = json.loads(_canonical(dict(payload)))
        digest = hashlib.sha256(
            _canonical(
                {
                    "sequence": self._next_sequence,
                    "ts": ts.isoformat(),
                    "type": record_type.value,
                    "payload": body,
                    "prev_hash": self._prev_hash,
                }
            )
        ).hexdigest()
        record = LedgerRecord(
            sequence=self._next_sequence,
            ts=ts,
            type=record_type,
            payload=body,
            prev_hash=self._prev_hash,
            hash=digest,
        )
        self._records.append(record)
        self._next_sequence += 1
        self._prev_hash = digest
        return record

    def append_model(
        self, record_type: RecordType, model: BaseModel, ts: datetime | None = None
    ) -> LedgerRecord:
        """Append a record whose payload is ``model`` as JSON (decimals as strings)."""
        when = ts if ts is not None else getattr(model, "ts", None)
        if not isinstance(when, datetime):
            raise ValueError(
                f"{type(model).__name__} has no 'ts'; pass the record time as ts=..."
            )
        return self.append(record_type, model.model_dump(mode="json"), when)


def intent_payload(intent: OrderIntent, request: OrderRequest) -> dict[str, Any]:
    """The ``order.intent`` payload the engine writes before it sends ``request``."""
    return {
        "client_order_id": request.client_order_id,
        "intent_id": intent.intent_id,
        "policy": intent.policy,
        "reason": intent.reason,
        "request": request.model_dump(mode="json"),
    }


def order_update_payload(order: Order, **extra: str) -> dict[str, Any]:
    """The payload of an ``order.<status>`` record, as the engine writes it after a change."""
    return {
        "client_order_id": order.client_order_id,
        "exchange_order_id": order.exchange_order_id,
        "venue": order.venue,
        "symbol": order.symbol,
        "status": order.status.value,
        "filled_quantity": format(order.filled_quantity, "f"),
        "average_fill_price": (
            None if order.average_fill_price is None else format(order.average_fill_price, "f")
        ),
        "reason": order.reason,
        **extra,
    }


def sample_trading_records(
    *,
    start: datetime = FIXED_NOW,
    symbol: str = "BTC/USDT",
    venue: str = DEFAULT_VENUE,
    orders: int = 4,
    seed: int = 0,
    chain: LedgerChain | None = None,
) -> tuple[LedgerRecord, ...]:
    """A plausible trading session: per order an intent, submit, ack, fill and final state.

    Orders are one hour apart from ``start``, alternate buy and sell, and are
    moved through their lifecycle with the SDK's own :meth:`Order.transition`
    and :meth:`Order.apply_fill`; the payloads have the shapes the engine
    writes, so every record reads back with :func:`crypto_bot_sdk.payload_of`.
    """
    rng = random.Random(seed)
    chain = chain if chain is not None else LedgerChain()
    for index in range(orders):
        ts = start + timedelta(hours=index)
        side = Side.BUY if index % 2 == 0 else Side.SELL
        quantity = Decimal(rng.randint(1, 50)) / 100
        price = Decimal(rng.randint(9_500_00, 10_500_00)) / 100
        coid = f"sample-{seed}-{index}"
        intent = make_intent(symbol, side, quantity, venue=venue, ts=ts, intent_id=f"i-{coid}")
        request = OrderRequest(
            client_order_id=coid,
            venue=venue,
            symbol=symbol,
            side=side,
            quantity=quantity,
            intent_id=intent.intent_id,
        )
        order = Order(request=request, created_at=ts, updated_at=ts)
        chain.append(RecordType.ORDER_INTENT, intent_payload(intent, request), ts)
        order = order.transition(OrderStatus.SUBMITTED, ts=ts)
        chain.append(RecordType.ORDER_SUBMITTED, order_update_payload(order), ts)
        order = order.transition(OrderStatus.ACKNOWLEDGED, ts=ts, exchange_order_id=f"x{index}")
        chain.append(RecordType.ORDER_ACKNOWLEDGED, order_update_payload(order), ts)
        fill_ts = ts + timedelta(seconds=1)
        fill = Fill(
            fill_id=f"f-{coid}",
            client_order_id=coid,
            exchange_order_id=f"x{index}",
            symbol=symbol,
            venue=venue,
            side=side,
            quantity=quantity,
            price=price,
            fee=(quantity * price * Decimal("0.0004")).quantize(Decimal("0.00000001")),
            fee_currency=parse_symbol(symbol)[1],
            ts=fill_ts,
        )
        chain.append_model(RecordType.FILL, fill)
        filled = order.apply_fill(fill)
        chain.append(
            RecordType.ORDER_FILLED, order_update_payload(filled, fill_id=fill.fill_id), fill_ts
        )
    return chain.records


def _shift_times(value: Any, delta: timedelta) -> Any:
    """``value`` with every ISO-8601 timestamp string inside it moved by ``delta``."""
    if isinstance(value, dict):
        return {key: _shift_times(item, delta) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift_times(item, delta) for item in value]
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return value
        if stamp.tzinfo is not None:
            moved = (stamp + delta).isoformat()
            return moved.replace("+00:00", "Z") if value.endswith("Z") else moved
    return value


def shifted_outside(
    records: Sequence[LedgerRecord], period_start: datetime, period_end: datetime
) -> tuple[tuple[LedgerRecord, ...], tuple[LedgerRecord, ...]]:
    """The same records moved just before and just after a period: a report must ignore them.

    Record times and the timestamps inside payloads move together, so a moved
    fill is a fill that happened outside the period. The copies after continue
    the chain and start exactly at ``period_end`` (the period is half-open);
    the copies before take the sequence numbers below the first record's, so
    as many fit as the first sequence number allows, and the last ends one
    second before ``period_start``.
    """
    if not records:
        return (), ()
    first = records[0]
    after = LedgerChain(start_sequence=records[-1].sequence + 1, prev_hash=records[-1].hash)
    for record in records:
        delta = period_end - first.ts
        after.append(record.type, _shift_times(record.payload, delta), record.ts + delta)
    room = min(len(records), first.sequence)
    chosen = records[len(records) - room :]
    before = LedgerChain(start_sequence=first.sequence - room)
    for record in chosen:
        delta = period_start - timedelta(seconds=1) - chosen[-1].ts
        before.append(record.type, _shift_times(record.payload, delta), record.ts + delta)
    return before.records, after.records
