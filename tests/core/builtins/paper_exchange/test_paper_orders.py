"""Order acceptance: precision, notional, symbols, idempotency, cancels, fetches."""

from __future__ import annotations

from typing import Any

import pytest

from crypto_bot_core.builtins.paper_exchange import PaperExchange
from crypto_bot_sdk import (
    DuplicateOrderError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderStatus,
    PrecisionError,
)

from .helpers import PERP, SPOT, D, at, balances, bar, flat_bar, order, run, venue

LISTED: dict[str, Any] = {
    "instruments": [
        {"symbol": SPOT, "tick_size": "0.1", "lot_size": "0.001", "min_notional": "10"},
        {"symbol": PERP, "tick_size": "0.5", "lot_size": "0.01", "contract_size": "0.1"},
    ],
    "derive_instruments": None,
}


def _listed() -> PaperExchange:
    return venue(**LISTED)


def test_listed_instruments_carry_the_venue_and_their_increments() -> None:
    spot, perp = run(_listed().load_instruments())
    assert (spot.symbol, spot.venue, spot.kind.value, spot.tick_size, spot.min_notional) == (
        SPOT, "paper", "spot", D("0.1"), D(10),
    )
    assert (perp.kind.value, perp.lot_size, perp.contract_size) == ("perpetual", D("0.01"),
                                                                    D("0.1"))


def test_derived_instruments_appear_with_the_data() -> None:
    ex = venue()
    assert run(ex.load_instruments()) == []
    ex.process_event(flat_bar(0, 100, symbol="ETH/USDT"))
    [eth] = run(ex.load_instruments())
    assert (eth.symbol, eth.tick_size, eth.lot_size) == ("ETH/USDT", D("1E-8"), D("1E-8"))
    adopted = ex.adopt_symbols(["SOL/USDT:USDT"])
    assert [i.symbol for i in adopted] == ["ETH/USDT", "SOL/USDT:USDT"]
    assert adopted[1].kind.value == "perpetual"


def test_quantity_off_the_lot_grid_names_the_nearest_valid_size() -> None:
    with pytest.raises(PrecisionError, match=r"lot size 0\.001 .* use 1\.234"):
        _listed().place_order(order("buy", "1.2345", price=100))


def test_price_off_the_tick_grid_is_a_precision_error() -> None:
    with pytest.raises(PrecisionError, match=r"price 100\.05 .* tick size 0\.1"):
        _listed().place_order(order("buy", 1, price="100.05"))
    with pytest.raises(PrecisionError, match="stop_price"):
        _listed().place_order(order("buy", 1, stop="100.05"))


def test_below_minimum_notional_is_invalid_but_not_a_precision_error() -> None:
    with pytest.raises(InvalidOrderError, match="below the minimum notional 10") as caught:
        _listed().place_order(order("buy", "0.099", price=100))
    assert not isinstance(caught.value, PrecisionError)


def test_contract_size_counts_in_notional_and_margin() -> None:
    ex = _listed()
    ex.process_event(flat_bar(0, 100, symbol=PERP))
    ex.place_order(order("buy", 10, symbol=PERP, price=100))
    assert balances(ex)["USDT"] == (D(99900), D(100))  # 10 contracts x 0.1 x 100, leverage 1


def test_unknown_symbols_are_refused() -> None:
    with pytest.raises(InvalidOrderError, match=r"unknown symbol 'ETH/USDT' .* instruments"):
        _listed().place_order(order("buy", 1, price=100, symbol="ETH/USDT"))
    with pytest.raises(InvalidOrderError, match="not appeared in the data stream"):
        venue().place_order(order("buy", 1, price=100, symbol="ETH/USDT"))


def test_orders_for_another_venue_are_refused() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(InvalidOrderError, match="addressed to venue 'binance'"):
        ex.place_order(order("buy", 1, venue_name="binance"))


def test_resend_returns_the_same_order_and_reuse_is_refused() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    request = order("buy", 1, price=90, coid="same")
    first = ex.place_order(request)
    again = ex.place_order(request.model_copy(update={"intent_id": "other-intent"}))
    assert (first.exchange_order_id, again.exchange_order_id) == ("paper-1", "paper-1")
    assert len(run(ex.fetch_open_orders())) == 1
    with pytest.raises(DuplicateOrderError, match="'same' is already used"):
        ex.place_order(request.model_copy(update={"quantity": D(2)}))
    assert ex.place_order(order("buy", 1, price=90)).exchange_order_id == "paper-2"


def test_a_refused_order_consumes_no_id_and_can_be_resent_corrected() -> None:
    ex = _listed()
    with pytest.raises(PrecisionError):
        ex.place_order(order("buy", "1.0001", price=100, coid="fixme"))
    assert ex.place_order(order("buy", 1, price=100, coid="fixme")).exchange_order_id == "paper-1"


def test_cancel_releases_funds_and_is_final() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=90, coid="c"))
    cancelled = run(ex.cancel_order("c", SPOT))
    assert (cancelled.status, cancelled.updated_at) == (OrderStatus.CANCELLED, at(1))
    assert run(ex.fetch_open_orders(SPOT)) == []
    assert balances(ex)["USDT"] == (D(100000), D(0))
    assert ex.process_event(bar(1, 100, 100, 80, 85)) == ()
    assert run(ex.cancel_order("c", SPOT)).status is OrderStatus.CANCELLED


def test_cancel_of_a_filled_order_returns_its_final_state() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, coid="done"))
    ex.process_event(flat_bar(1, 100))
    assert run(ex.cancel_order("done", SPOT)).status is OrderStatus.FILLED


def test_unknown_or_mismatched_orders_are_not_found() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.place_order(order("buy", 1, price=90, coid="known"))
    with pytest.raises(OrderNotFoundError, match="no order 'nope'"):
        run(ex.fetch_order("nope", SPOT))
    with pytest.raises(OrderNotFoundError):
        run(ex.fetch_order("known", "ETH/USDT"))
    with pytest.raises(OrderNotFoundError):
        run(ex.cancel_order("nope", SPOT))


def test_open_orders_are_listed_in_submission_order_across_symbols() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.process_event(flat_bar(0, 10, symbol="ETH/USDT"))
    ex.place_order(order("buy", 1, price=90, coid="b1"))
    ex.place_order(order("buy", 1, price=9, symbol="ETH/USDT", coid="e1"))
    ex.place_order(order("buy", 1, price=91, coid="b2"))
    assert [o.client_order_id for o in run(ex.fetch_open_orders())] == ["b1", "e1", "b2"]
    assert [o.client_order_id for o in run(ex.fetch_open_orders("ETH/USDT"))] == ["e1"]


def test_fetch_fills_filters_by_symbol_and_since_oldest_first() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    ex.process_event(flat_bar(0, 10, symbol="ETH/USDT"))
    ex.place_order(order("buy", 1, coid="b1"))
    ex.place_order(order("buy", 1, symbol="ETH/USDT", coid="e1"))
    ex.process_event(flat_bar(1, 100))
    ex.process_event(flat_bar(1, 10, symbol="ETH/USDT"))
    ex.place_order(order("buy", 1, coid="b2"))
    ex.process_event(flat_bar(2, 101))
    every = run(ex.fetch_fills())
    assert [f.client_order_id for f in every] == ["b1", "e1", "b2"]
    assert [f.ts for f in every] == [at(1), at(1), at(2)]
    assert [f.client_order_id for f in run(ex.fetch_fills(SPOT))] == ["b1", "b2"]
    assert [f.client_order_id for f in run(ex.fetch_fills(since=at(2)))] == ["b2"]
    assert run(ex.fetch_fills("ETH/USDT", since=at(1, 1))) == []


def test_fees_are_published() -> None:
    fees = run(venue(maker_fee="0.0001", taker_fee="0.0005", **LISTED).fetch_fees(SPOT))
    assert (fees.maker, fees.taker) == (D("0.0001"), D("0.0005"))
