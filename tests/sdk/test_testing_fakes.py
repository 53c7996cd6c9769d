"""The kit's fakes: seeded, valid, and shaped the way the checks rely on."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from crypto_bot_sdk import RecordType, Side
from crypto_bot_sdk.testing import (
    FIXED_NOW,
    GENESIS_HASH,
    LedgerChain,
    StaticRiskContext,
    bar_series,
    make_instrument,
    make_intent,
    market_view_from,
    sample_trading_records,
    timeframe_delta,
)
from crypto_bot_sdk.testing._ledger import shifted_outside


def test_bar_series_is_seeded_continuous_and_on_the_tick_grid() -> None:
    bars = bar_series("ETH/USDT", count=300, timeframe="5m", start_price="2500", seed=7)
    assert bars == bar_series("ETH/USDT", count=300, timeframe="5m", start_price="2500", seed=7)
    assert bars != bar_series("ETH/USDT", count=300, timeframe="5m", start_price="2500", seed=8)
    assert bars[0].open == Decimal(2500)
    assert [b.ts for b in bars] == [FIXED_NOW + i * timedelta(minutes=5) for i in range(300)]
    for previous, current in itertools.pairwise(bars):
        assert current.open == previous.close
    tick = Decimal("0.01")
    assert all(
        value % tick == 0 for b in bars for value in (b.open, b.high, b.low, b.close)
    )
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)


def test_bar_series_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="timeframe '1M' is not <count><unit>"):
        bar_series(timeframe="1M")
    with pytest.raises(ValueError, match="count must be >= 0, not -1"):
        bar_series(count=-1)
    assert timeframe_delta("2h") == timedelta(hours=2)


def test_market_view_from_events() -> None:
    bars = bar_series(count=10)
    view = market_view_from(bars, [make_instrument()])
    assert view.now == bars[-1].ts
    assert view.last_price("BTC/USDT") == bars[-1].close
    assert make_instrument("BTC/USDT:USDT").kind.value == "perpetual"


def test_make_intent_is_deterministic() -> None:
    intent = make_intent("BTC/USDT", Side.SELL, "0.25")
    assert intent.intent_id == "intent-sell-BTC/USDT-0.25"
    assert intent == make_intent("BTC/USDT", Side.SELL, "0.25")
    assert intent.quantity == Decimal("0.25")


def test_static_risk_context_builder_is_immutable() -> None:
    base = StaticRiskContext().with_equity("9000", peak_equity="10000")
    with_position = base.with_position("BTC/USDT:USDT", "-0.5", "60000", mark_price="61000")
    context = with_position.with_balance("USDT", "9000").with_reference_price("61000").build()
    assert base.positions == ()
    assert context.portfolio.drawdown == Decimal("0.1")
    assert context.portfolio.net_quantity("BTC/USDT:USDT") == Decimal("-0.5")
    assert context.portfolio.balances[0].total == Decimal(9000)
    assert context.reference_price == Decimal(61000)
    assert context.market.now == FIXED_NOW  # the default view's clock reads the context time


def test_ledger_chain_links_and_hashes_canonical_json() -> None:
    chain = LedgerChain(start_sequence=5)
    first = chain.append(RecordType.SYSTEM_START, {"mode": "paper", "price": Decimal("1.50")},
                         FIXED_NOW)
    second = chain.append(RecordType.SYSTEM_STOP, {"reason": "done"}, FIXED_NOW)
    assert (first.sequence, second.sequence) == (5, 6)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.payload == {"mode": "paper", "price": "1.50"}  # decimals become strings
    body = {"payload": first.payload, "prev_hash": GENESIS_HASH, "sequence": 5,
            "ts": FIXED_NOW.isoformat(), "type": "system.start"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert first.hash == hashlib.sha256(canonical).hexdigest()
    with pytest.raises(ValueError, match="has no 'ts'; pass the record time"):
        chain.append_model(RecordType.DECISION, make_instrument())


def test_sample_trading_records_tell_a_consistent_story() -> None:
    records = sample_trading_records(orders=3)
    assert [r.type for r in records[:5]] == [
        RecordType.ORDER_INTENT, RecordType.ORDER_SUBMITTED, RecordType.ORDER_ACKNOWLEDGED,
        RecordType.FILL, RecordType.ORDER_FILLED,
    ]
    assert len(records) == 15
    assert [r.sequence for r in records] == list(range(15))
    filled = [r.payload for r in records if r.type is RecordType.ORDER_FILLED]
    fills = [r.payload for r in records if r.type is RecordType.FILL]
    assert [o["status"] for o in filled] == ["filled"] * 3
    assert [o["filled_quantity"] for o in filled] == [f["quantity"] for f in fills]
    assert records == sample_trading_records(orders=3)


def test_shifted_copies_land_outside_the_period() -> None:
    records = sample_trading_records(orders=2, chain=LedgerChain(start_sequence=4))
    start, end = FIXED_NOW, FIXED_NOW + timedelta(days=1)
    before, after = shifted_outside(records, start, end)
    assert [r.sequence for r in before] == [0, 1, 2, 3]  # as many as fit below sequence 4
    assert max(r.ts for r in before) == start - timedelta(seconds=1)
    assert min(r.ts for r in after) == end
    assert [r.sequence for r in after] == list(range(14, 24))
    assert after[0].prev_hash == records[-1].hash
    # Timestamps inside payloads move with their record: a moved fill happened outside too.
    original = next(r for r in records if r.type is RecordType.FILL)
    moved = next(r for r in after if r.type is RecordType.FILL)
    assert original.payload["ts"] == "2024-01-01T00:00:01Z"
    assert moved.payload["ts"] == "2024-01-02T00:00:01Z"
    assert moved.ts == end + timedelta(seconds=1)
    assert moved.payload["fill_id"] == original.payload["fill_id"]
