"""The engine's shortcuts around pydantic and the SDK lifecycle give the objects pydantic and
the SDK give; the compact equity curve and the batched ledger behave like what they replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_core.engine.batching import BatchingLog, can_batch
from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_core.engine.lifecycle import filled, moved
from crypto_bot_core.engine.orders import MemoryAuditLog
from crypto_bot_core.ledger import open_ledger
from crypto_bot_core.support.trusted import build, replace, shortcut_fields
from crypto_bot_sdk import (
    Balance,
    Bar,
    Fill,
    IllegalTransitionError,
    Liquidity,
    Order,
    OrderError,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    PortfolioSnapshot,
    Position,
    RecordType,
    Side,
    Signal,
)

TS = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _request(quantity: str = "0.5") -> OrderRequest:
    return OrderRequest(
        client_order_id="cb0123456789-000001",
        venue="alpha",
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=Decimal(quantity),
        intent_id="i-1",
    )


SAMPLES: list[Any] = [
    _request(),
    Order(request=_request(), created_at=TS, updated_at=TS),
    Signal(agent="ema", symbol="BTC/USDT", ts=TS, score=0.5, confidence=0.25, features={"z": 1}),
    Bar(
        symbol="BTC/USDT",
        venue="alpha",
        ts=TS,
        open=Decimal("1.00"),
        high=Decimal("1.20"),
        low=Decimal("0.90"),
        close=Decimal("1.10"),
        volume=Decimal("3"),
    ),
    OrderIntent(intent_id="i-1", symbol="BTC/USDT", side=Side.SELL, quantity=Decimal(1), ts=TS),
    Position(
        symbol="BTC/USDT", venue="alpha", quantity=Decimal("0.1"), average_entry_price=Decimal(9)
    ),
    Balance(asset="USDT", venue="alpha", free=Decimal(5)),
    PortfolioSnapshot(ts=TS, equity=Decimal(5)),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_build_and_replace_equal_pydantic(sample: Any) -> None:
    cls = type(sample)
    assert shortcut_fields(cls) is not None  # the shortcut is taken, not the fallback
    values = {name: getattr(sample, name) for name in cls.model_fields}
    made, reference = build(cls, **values), cls.model_construct(**values)
    assert made == reference == sample
    assert made.__pydantic_fields_set__ == reference.__pydantic_fields_set__
    assert made.model_dump(mode="json") == sample.model_dump(mode="json")
    name = sorted(cls.model_fields)[-1]
    update = {name: getattr(sample, name)}
    copied, reference_copy = replace(sample, **update), sample.model_copy(update=update)
    assert copied == reference_copy
    assert copied is not sample
    assert copied.__pydantic_fields_set__ == reference_copy.__pydantic_fields_set__


def test_replace_changes_only_the_copy() -> None:
    order = SAMPLES[1]
    copied = replace(order, status=OrderStatus.SUBMITTED, reason="sent")
    assert copied == order.model_copy(update={"status": OrderStatus.SUBMITTED, "reason": "sent"})
    assert (order.status, order.reason) == (OrderStatus.CREATED, "")
    # a name that is not a field takes pydantic's own path
    assert replace(order, extra=1).__dict__ == order.model_copy(update={"extra": 1}).__dict__


def test_lifecycle_steps_equal_the_sdk() -> None:
    order = Order(request=_request("1.0"), created_at=TS, updated_at=TS)
    for status in (OrderStatus.SUBMITTED, OrderStatus.ACKNOWLEDGED):
        later = TS + timedelta(seconds=1)
        assert moved(order, status, later) == order.transition(status, ts=later)
        order = order.transition(status, ts=later)
    for n, (qty, price) in enumerate((("0.4", "100.5"), ("0.6", "101"))):
        fill = Fill(
            fill_id=f"f{n}",
            client_order_id=order.client_order_id,
            exchange_order_id="alpha-1",
            symbol="BTC/USDT",
            venue="alpha",
            side=Side.BUY,
            quantity=Decimal(qty),
            price=Decimal(price),
            fee=Decimal("0.01"),
            ts=TS + timedelta(seconds=2 + n),
        )
        ours, sdk = filled(order, fill), order.apply_fill(fill)
        assert ours == sdk
        order = sdk
    assert order.status is OrderStatus.FILLED
    # what the lifecycle forbids is refused by the SDK itself, with its message
    with pytest.raises(IllegalTransitionError, match="cannot go from filled to acknowledged"):
        moved(order, OrderStatus.ACKNOWLEDGED, TS)
    with pytest.raises(OrderError, match="would overfill"):
        filled(order, fill)
    other_zone = datetime(2024, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    sent = Order(request=_request(), created_at=TS, updated_at=TS)
    assert moved(sent, OrderStatus.SUBMITTED, other_zone).updated_at == TS
    assert moved(sent, OrderStatus.SUBMITTED, other_zone).updated_at.tzinfo is UTC


def test_equity_curve_reads_like_the_list_it_replaces() -> None:
    curve = EquityCurve()
    points = [(TS + timedelta(minutes=i, microseconds=7), Decimal(100 + i)) for i in range(4)]
    for point in points:
        curve.append(point)
    assert list(curve) == points
    assert len(curve) == 4
    assert curve[-1] == points[-1]
    assert curve[1:3] == points[1:3]
    assert str(curve[0][0]) == str(points[0][0])
    import numpy as np

    micros = (np.arange(3, dtype=np.int64) + 10) * 60_000_000
    curve.extend_flat(micros.tobytes(), Decimal("7.5"))
    curve.extend_micros(micros.tobytes(), [Decimal(1), Decimal(2), Decimal(3)])
    assert curve.values()[4:] == [Decimal("7.5")] * 3 + [Decimal(1), Decimal(2), Decimal(3)]
    assert curve[4][0] == datetime(1970, 1, 1, 0, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="one value per timestamp"):
        curve.extend_micros(micros.tobytes(), [Decimal(1)])
    assert len(curve) == 10


def test_batching_log_commits_in_order_and_on_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = open_ledger(url)
    assert can_batch(ledger)
    assert not can_batch(MemoryAuditLog())
    batched = BatchingLog(ledger, batch=3)
    assert not can_batch(batched)
    for n in range(7):
        batched.append(RecordType.ALERT, {"n": n, "title": "t"}, ts=TS + timedelta(seconds=n))
    assert batched.flushes == 2
    assert batched.pending == 1
    assert len(list(batched.records())) == 7  # a read commits what is pending first
    batched.append(RecordType.ALERT, {"n": 7, "title": "t"})
    batched.close()
    reopened = open_ledger(url)
    try:
        assert [r.payload["n"] for r in reopened.records()] == list(range(8))
        assert reopened.verify(require_signatures=False).ok
    finally:
        reopened.close()


def test_frozen_models_share_one_fields_set_and_copies_never_change_it() -> None:
    """Fills built without validation share their fields set (a backtest keeps every fill);
    pydantic's copies and ours must copy it before changing it, or every fill would
    change with them."""
    from crypto_bot_core.support.trusted import maker

    values: dict[str, Any] = {
        "fill_id": "f-1",
        "client_order_id": "c-1",
        "exchange_order_id": None,
        "venue": "paper",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "quantity": Decimal("1"),
        "price": Decimal("100"),
        "fee": Decimal("0.04"),
        "fee_currency": "USDT",
        "liquidity": Liquidity.TAKER,
        "ts": datetime(2024, 1, 1, tzinfo=UTC),
    }
    names = shortcut_fields(Fill)
    assert names is not None
    values = {k: v for k, v in values.items() if k in names}
    for missing in names - values.keys():
        values[missing] = Fill.model_fields[missing].default
    first = build(Fill, **values)
    second = maker(Fill)(dict(values))
    assert first.model_fields_set is second.model_fields_set
    assert first == Fill.model_validate(first.model_dump())
    before = set(first.model_fields_set)
    copied = first.model_copy(update={"price": Decimal("101")})
    ours = replace(first, price=Decimal("102"))
    assert (copied.price, ours.price, first.price) == (Decimal(101), Decimal(102), Decimal(100))
    assert first.model_fields_set == before
    assert copied.model_fields_set is not first.model_fields_set
    assert ours.model_fields_set is not first.model_fields_set
