"""The order manager's ledger payloads built directly equal pydantic's JSON dumps, and a
backtest's order manager that keeps only open orders writes the same records."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_core.engine.orders import MemoryAuditLog, OrderManager, fill_json, request_json
from crypto_bot_core.engine.risk import verdict_json
from crypto_bot_sdk import (
    Bar,
    Fill,
    Liquidity,
    OrderIntent,
    OrderRequest,
    OrderStatus,
    OrderType,
    RiskVerdict,
    Side,
    TimeInForce,
    VerdictAction,
)

TS = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _request(**changes: Any) -> OrderRequest:
    values: dict[str, Any] = {
        "client_order_id": "cb0123456789-000001",
        "venue": "alpha",
        "symbol": "BTC/USDT",
        "side": Side.BUY,
        "quantity": Decimal("0.5"),
        "intent_id": "i-1",
    }
    values.update(changes)
    return OrderRequest(**values)


REQUESTS = [
    _request(),
    _request(intent_id=None, side=Side.SELL, quantity=Decimal("1E+2")),
    _request(order_type=OrderType.LIMIT, price=Decimal("100.10"), post_only=True),
    _request(order_type=OrderType.STOP, stop_price=Decimal("0.00000001"), reduce_only=True),
    _request(
        order_type=OrderType.TAKE_PROFIT_LIMIT,
        price=Decimal("12345.6789"),
        stop_price=Decimal("12000"),
        time_in_force=TimeInForce.IOC,
        symbol="ETH/USDT:USDT",
    ),
]


def _fill(**changes: Any) -> Fill:
    values: dict[str, Any] = {
        "fill_id": "alpha-fill-1",
        "client_order_id": "cb0123456789-000001",
        "exchange_order_id": "alpha-1",
        "symbol": "BTC/USDT",
        "venue": "alpha",
        "side": Side.BUY,
        "quantity": Decimal("0.5"),
        "price": Decimal("100.1"),
        "fee": Decimal("0.02002"),
        "fee_currency": "USDT",
        "liquidity": Liquidity.TAKER,
        "ts": TS,
    }
    values.update(changes)
    return Fill(**values)


FILLS = [
    _fill(),
    _fill(exchange_order_id=None, side=Side.SELL, liquidity=Liquidity.MAKER, fee=Decimal(0)),
    _fill(ts=TS + timedelta(microseconds=1), quantity=Decimal("1E+3")),
    _fill(ts=TS + timedelta(milliseconds=250), price=Decimal("0.00000001")),
    _fill(ts=datetime(2024, 3, 1, 13, tzinfo=timezone(timedelta(hours=1)))),  # made UTC
]


@pytest.mark.parametrize("request_", REQUESTS)
def test_request_json_is_pydantics(request_: OrderRequest) -> None:
    built = request_json(request_)
    assert built == request_.model_dump(mode="json")
    assert list(built) == list(request_.model_dump(mode="json"))


@pytest.mark.parametrize("fill", FILLS)
def test_fill_json_is_pydantics(fill: Fill) -> None:
    assert fill_json(fill) == fill.model_dump(mode="json")


def test_values_of_other_types_are_left_to_pydantic() -> None:
    """A model built without validation may hold anything; pydantic then decides (and warns
    where it warns), never the shortcut."""
    zero = timezone(timedelta(0))  # UTC's offset, not the UTC object
    odd_time = _fill().model_copy(update={"ts": datetime(2024, 3, 1, 13, tzinfo=zero)})
    other_zone = _fill().model_copy(
        update={"ts": datetime(2024, 3, 1, 13, tzinfo=timezone(timedelta(hours=1)))}
    )
    for fill in (odd_time, other_zone):
        assert fill_json(fill) == fill.model_dump(mode="json")
    as_text = _request().model_copy(update={"side": "buy"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic's serializer warns about the plain str
        assert request_json(as_text) == as_text.model_dump(mode="json")


VERDICTS = [
    RiskVerdict.approve("max_drawdown"),
    RiskVerdict.approve(
        "max_position",
        "within the limit",
    ),
    RiskVerdict.reject("price_band", "outside the band of ±1.50%", price="1.5", band_bps="150"),
    RiskVerdict.resize("max_order_notional", Decimal("1E+1"), "too big", resized_quantity="10"),
    RiskVerdict.resize("max_position", Decimal("0.00000001"), "too big"),
]


@pytest.mark.parametrize("verdict", VERDICTS)
def test_verdict_json_is_pydantics(verdict: RiskVerdict) -> None:
    built = verdict_json(verdict)
    assert built == verdict.model_dump(mode="json")
    assert built["figures"] is not verdict.figures  # a copy: the record owns its payload


def test_verdicts_of_other_types_are_left_to_pydantic() -> None:
    as_text = RiskVerdict.approve("r").model_copy(update={"action": "approve"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert verdict_json(as_text) == as_text.model_dump(mode="json")
        assert verdict_json(as_text)["action"] == VerdictAction.APPROVE.value


# --- keep_closed ---------------------------------------------------------------------


def _bar(minute: int, price: str) -> Bar:
    value = Decimal(price)
    return Bar(
        symbol="BTC/USDT",
        venue="alpha",
        ts=TS + timedelta(minutes=minute),
        open=value,
        high=value,
        low=value,
        close=value,
        volume=Decimal(1000),
    )


def _intent(number: int, side: Side, price: str | None = None) -> OrderIntent:
    return OrderIntent(
        intent_id=f"i-{number}",
        symbol="BTC/USDT",
        side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        price=None if price is None else Decimal(price),
        quantity=Decimal(1),
        ts=TS,
    )


def _session(keep_closed: bool) -> tuple[OrderManager, MemoryAuditLog]:
    """Market orders filled at submission (``signal_close``), one limit left resting."""
    log = MemoryAuditLog()
    venue = PaperExchange.from_config(
        {"venue": "alpha", "fill_at": "signal_close", "balances": {"USDT": "100000"}}
    )
    manager = OrderManager(log, {"alpha": venue}, id_prefix="run", keep_closed=keep_closed)

    async def go() -> None:
        venue.match_event(_bar(0, "100"))
        for number in range(1, 5):
            side = Side.BUY if number % 2 else Side.SELL
            order = await manager.submit(_intent(number, side), venue="alpha", quantity=1, ts=TS)
            assert order.status is OrderStatus.FILLED
            assert order.filled_quantity == 1
        await manager.submit(_intent(5, Side.BUY, "90"), venue="alpha", quantity=1, ts=TS)

    asyncio.run(go())
    return manager, log


def test_without_keep_closed_only_open_orders_are_held_and_the_records_are_the_same() -> None:
    kept, kept_log = _session(keep_closed=True)
    dropped, dropped_log = _session(keep_closed=False)
    assert dropped_log.records == kept_log.records
    assert len(kept.orders) == 5
    assert list(dropped.orders) == ["run-000005"]  # the resting limit
    assert [o.client_order_id for o in dropped.open_orders()] == ["run-000005"]
    assert dropped.orders["run-000005"] == kept.orders["run-000005"]
    # A fill of an order no longer held is ignored, as one of a foreign order.
    late = _fill(client_order_id="run-000001", fill_id="late-1")
    assert dropped.book_fill(late) is None
