"""SDK market models and the in-memory market view at their edges.

Plugins trust what the view tells them: the last price after a trade print or a
one-sided book, metrics per name and symbol, a position's P&L when its mark is
unknown. Each is checked with the values an author would compute by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crypto_bot_sdk import (
    BookLevel,
    InMemoryMarketView,
    MetricPoint,
    OrderBook,
    Position,
    Side,
    Trade,
)

T0 = datetime(2024, 7, 1, tzinfo=UTC)


def _book(bids: list[str], asks: list[str]) -> OrderBook:
    return OrderBook(
        symbol="BTC/USDT",
        venue="alpha",
        ts=T0,
        bids=tuple(BookLevel(price=Decimal(p), amount=Decimal(1)) for p in bids),
        asks=tuple(BookLevel(price=Decimal(p), amount=Decimal(1)) for p in asks),
    )


def test_each_side_has_an_opposite_and_a_sign() -> None:
    assert (Side.BUY.opposite, Side.SELL.opposite) == (Side.SELL, Side.BUY)
    assert (Side.BUY.sign, Side.SELL.sign) == (1, -1)


def test_a_book_is_refused_when_a_side_is_out_of_order_or_it_is_crossed() -> None:
    with pytest.raises(ValidationError, match="asks must be strictly ascending"):
        _book(["99"], ["101", "100"])
    with pytest.raises(ValidationError, match="asks must be strictly ascending"):
        _book(["99"], ["101", "101"])
    with pytest.raises(ValidationError, match="bids must be strictly descending"):
        _book(["98", "99"], ["101"])
    with pytest.raises(ValidationError, match=r"is crossed: best bid 101 >= best ask 100"):
        _book(["101"], ["100"])


def test_a_one_sided_book_has_no_mid_and_does_not_set_the_last_price() -> None:
    view = InMemoryMarketView()
    view.update(
        Trade(
            symbol="BTC/USDT",
            venue="alpha",
            ts=T0,
            trade_id="t1",
            price=Decimal("100.5"),
            amount=Decimal(2),
            side=Side.BUY,
        )
    )
    assert view.last_price("BTC/USDT") == Decimal("100.5")  # a trade print sets it
    bids_only = _book(["99", "98"], [])
    assert (bids_only.best_bid, bids_only.best_ask, bids_only.mid) == (Decimal(99), None, None)
    view.update(bids_only)
    assert view.last_price("BTC/USDT", "alpha") == Decimal("100.5")  # unchanged
    assert view.order_book("BTC/USDT", "alpha") is bids_only
    view.update(_book(["99"], ["102"]))
    assert view.last_price("BTC/USDT") == Decimal("100.5")
    assert view.now == T0


def test_metrics_are_kept_per_name_and_symbol_most_recent_last() -> None:
    view = InMemoryMarketView()
    for hours, value in enumerate([1.0, 2.0, 3.0]):
        view.update(
            MetricPoint(name="tvl", source="llama", ts=T0 + timedelta(hours=hours), value=value)
        )
    view.update(
        MetricPoint(
            name="tvl", source="llama", symbol="ETH/USDT", ts=T0 + timedelta(hours=3), value=9.0
        )
    )
    assert [m.value for m in view.metrics("tvl")] == [1.0, 2.0, 3.0]
    assert [m.value for m in view.metrics("tvl", limit=2)] == [2.0, 3.0]
    assert [m.value for m in view.metrics("tvl", "ETH/USDT")] == [9.0]
    assert view.metrics("funding") == ()


def test_a_positions_pnl_needs_a_mark_and_a_flat_one_has_none() -> None:
    short = Position(
        symbol="BTC/USDT:USDT",
        venue="alpha",
        quantity=Decimal("-2"),
        average_entry_price=Decimal(100),
        mark_price=Decimal(90),
        contract_size=Decimal("0.5"),
    )
    # Short 2 contracts of 0.5 BTC from 100 to 90: (90 - 100) x -2 x 0.5 = +10.
    assert short.unrealised_pnl == Decimal(10)
    assert short.notional == Decimal(90)
    assert short.is_flat is False
    unmarked = short.model_copy(update={"mark_price": None})
    assert unmarked.unrealised_pnl == Decimal(0)
    assert unmarked.notional == Decimal(100)  # valued at entry when no mark is known
    flat = Position(symbol="BTC/USDT", venue="alpha", quantity=Decimal(0))
    assert (flat.is_flat, flat.unrealised_pnl, flat.notional) == (True, Decimal(0), Decimal(0))
