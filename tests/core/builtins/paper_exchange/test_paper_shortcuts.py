"""The fast paths change nothing: the watch thresholds and the trusted model builder."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_core.builtins.paper_exchange.trusted import build
from crypto_bot_core.builtins.paper_exchange.watch import Watch
from crypto_bot_sdk import (
    Fill,
    Liquidity,
    MarketEvent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)

from .helpers import PERP, D, bar, book, order, trade, venue


def _random_session(ex: PaperExchange, seed: int) -> list[Fill]:
    """Seeded random walk of bars, trades and books with every order type sprinkled in."""
    rng = random.Random(seed)
    price = 100.0
    fills: list[Fill] = []
    kinds = ["market", "limit", "stop", "stop_limit", "take_profit", "take_profit_limit"]
    for minute in range(300):
        price = max(5.0, price * (1 + rng.gauss(0, 0.01)))
        o, c = price, price * (1 + rng.gauss(0, 0.005))
        h, lo = max(o, c) * 1.004, min(o, c) * 0.996
        events: list[MarketEvent] = [
            bar(minute, f"{o:.2f}", f"{h:.2f}", f"{lo:.2f}", f"{c:.2f}",
                volume=rng.randint(0, 40), symbol=PERP)
        ]
        if minute % 7 == 0:
            events.append(trade(minute * 60 + 59, f"{c:.2f}", rng.randint(1, 5), symbol=PERP))
        if minute % 11 == 0:
            events.append(book(minute * 60 + 59, [(f"{c - 0.05:.2f}", "3")],
                               [(f"{c + 0.05:.2f}", "3")], symbol=PERP))
        for event in events:
            fills.extend(ex.process_event(event))
        if rng.random() < 0.3:
            kind = rng.choice(kinds)
            side = rng.choice(["buy", "sell"])
            offset = rng.uniform(-0.05, 0.05)
            level = f"{c * (1 + offset):.2f}"
            limit = f"{c * (1 + offset + rng.uniform(-0.01, 0.01)):.2f}"
            request = order(
                side, rng.choice(["0.5", "1", "3"]),
                symbol=PERP,
                order_type=kind,
                price=limit if kind in ("limit", "stop_limit", "take_profit_limit") else None,
                stop=level if kind not in ("market", "limit") else None,
                tif=rng.choice(["GTC", "GTC", "IOC"]) if kind == "limit" else "GTC",
                coid=f"r{minute}",
            )
            ex.place_order(request)
    return fills


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_watch_thresholds_skip_only_events_that_change_nothing(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"max_participation": "0.2", "taker_fee": "0.0004", "maker_fee": "0.0002",
                "leverage": "10", "price_offset_bps": "3"}

    def session() -> list[object]:
        ex = venue(**settings)
        fills = _random_session(ex, seed)
        return [f.model_dump() for f in fills] + [ex.snapshot()]

    fast = session()
    monkeypatch.setattr(Watch, "reached_by", lambda self, event, adjust: True)
    slow = session()
    assert len(fast) > 50  # the scenario really trades (96 fills for seed 1)
    assert fast == slow


def test_watch_thresholds_fold_the_orders() -> None:
    ex = venue(balances={"USDT": "100000", "BTC": "10"})
    ex.process_event(bar(0, 100, 101, 99, 100))
    ex.place_order(order("buy", 1, price=95))
    ex.place_order(order("buy", 1, price=97))
    ex.place_order(order("sell", 1, price=108))
    ex.place_order(order("buy", 1, stop=104))
    ex.place_order(order("sell", 1, stop=93))
    assert ex.process_event(bar(1, 100, 101, 99, 100)) == ()  # all arrive, none acts
    watch = Watch.of(ex._resting["BTC/USDT"])
    assert (watch.always, watch.low_trigger, watch.high_trigger) == (False, D(97), D(104))
    fills = ex.process_event(bar(2, 100, 101, 97, 100))
    assert [(f.side, f.price) for f in fills] == [(Side.BUY, D(97))]


def test_trusted_build_equals_model_construct() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    fill_values: dict[str, Any] = {
        "fill_id": "f", "client_order_id": "c", "exchange_order_id": "e", "symbol": "BTC/USDT",
        "venue": "paper", "side": Side.BUY, "quantity": D(1), "price": D("100.5"),
        "fee": D("0.01"), "fee_currency": "USDT", "liquidity": Liquidity.MAKER, "ts": now,
    }
    request = OrderRequest(client_order_id="c", venue="paper", symbol="BTC/USDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, price=D(100), quantity=D(2))
    order_values: dict[str, Any] = {
        "request": request, "status": OrderStatus.PARTIALLY_FILLED, "exchange_order_id": "e",
        "filled_quantity": D(1), "average_fill_price": D("100.5"), "fees": D("0.01"),
        "created_at": now, "updated_at": now, "reason": "", "kind": "order",
    }
    models: list[tuple[type[Fill] | type[Order], dict[str, Any]]] = [
        (Fill, fill_values), (Order, order_values)
    ]
    for cls, values in models:
        fast = build(cls, dict(values))
        slow = cls.model_construct(**dict(values))
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast.model_fields_set == slow.model_fields_set
        assert cls.model_validate(fast.model_dump()) == fast  # a valid object, re-validated
    partial = build(Fill, {k: v for k, v in fill_values.items() if k != "fee"})
    assert partial.fee == 0  # a missing field falls back to model_construct and its default
