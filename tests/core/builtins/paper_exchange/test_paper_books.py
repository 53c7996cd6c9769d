"""Matching against order books: walking levels, resting limits, stops, the venue's book."""

from __future__ import annotations

import pytest

from crypto_bot_sdk import ExchangeError, Liquidity, OrderStatus

from .helpers import D, book, flat_bar, order, run, venue

ASKS = [("101", "1"), ("102", "1.5"), ("103", "5")]
BIDS = [("100", "2"), ("99", "3")]


def test_market_buy_walks_the_asks_one_fill_per_level() -> None:
    ex = venue(taker_fee="0.001")
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 3, coid="walk"))

    fills = ex.process_event(book(1, BIDS, ASKS))

    assert [(f.quantity, f.price, f.fee) for f in fills] == [
        (D(1), D(101), D("0.101")),
        (D("1.5"), D(102), D("0.153")),
        (D("0.5"), D(103), D("0.0515")),
    ]
    final = run(ex.fetch_order("walk", "BTC/USDT"))
    assert final.average_fill_price == (D(101) + D("1.5") * 102 + D("0.5") * 103) / 3


def test_fixed_slippage_applies_per_level_on_books() -> None:
    ex = venue(slippage_bps="10", balances={"BTC": "5"})
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("sell", 3))
    fills = ex.process_event(book(1, BIDS, ASKS))
    assert [(f.quantity, f.price) for f in fills] == [(D(2), D("99.9")), (D(1), D("98.901"))]


def test_marketable_limit_takes_within_its_price_then_rests_as_maker() -> None:
    ex = venue()
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 5, price=102, coid="lim"))

    taken = ex.process_event(book(1, BIDS, ASKS))
    assert [(f.quantity, f.price, f.liquidity) for f in taken] == [
        (D(1), D(101), Liquidity.TAKER),
        (D("1.5"), D(102), Liquidity.TAKER),
    ]
    assert run(ex.fetch_order("lim", "BTC/USDT")).status is OrderStatus.PARTIALLY_FILLED

    later = ex.process_event(book(2, [("100", "1")], [("101.5", "10")]))
    assert [(f.quantity, f.price, f.liquidity) for f in later] == [
        (D("2.5"), D(102), Liquidity.MAKER)
    ]


def test_participation_cap_scales_every_level() -> None:
    ex = venue(max_participation="0.5")
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 2))
    fills = ex.process_event(book(1, BIDS, ASKS))
    assert [(f.quantity, f.price) for f in fills] == [(D("0.5"), D(101)), (D("0.75"), D(102)),
                                                      (D("0.75"), D(103))]


def test_two_orders_never_take_the_same_level_twice() -> None:
    ex = venue()
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", "0.6", coid="a"))
    ex.place_order(order("buy", "0.6", coid="b"))
    fills = ex.process_event(book(1, BIDS, ASKS))
    assert [(f.client_order_id, f.quantity, f.price) for f in fills] == [
        ("a", D("0.6"), D(101)),
        ("b", D("0.4"), D(101)),
        ("b", D("0.2"), D(102)),
    ]


def test_fok_against_too_thin_a_book_expires_untouched() -> None:
    ex = venue()
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 3, price=102, tif="FOK", coid="fok"))
    assert ex.process_event(book(1, BIDS, ASKS)) == ()
    assert run(ex.fetch_order("fok", "BTC/USDT")).status is OrderStatus.EXPIRED


def test_buy_stop_triggers_on_the_best_ask() -> None:
    ex = venue()
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 1, stop=105))
    assert ex.process_event(book(1, [("103", "1")], [("104", "1")])) == ()
    [fill] = ex.process_event(book(2, [("104", "1")], [("105", "2")]))
    assert fill.price == D(105)


def test_empty_side_leaves_a_market_order_waiting() -> None:
    ex = venue()
    ex.process_event(book(0, BIDS, ASKS))
    ex.place_order(order("buy", 1, coid="wait"))
    assert ex.process_event(book(1, BIDS, [])) == ()
    assert [f.price for f in ex.process_event(book(2, BIDS, ASKS))] == [D(101)]


def test_fetch_order_book_reprices_for_the_venue_and_cuts_depth() -> None:
    ex = venue(venue="pricey", price_offset_bps="100")
    ex.process_event(book(0, BIDS, ASKS))
    snapshot = run(ex.fetch_order_book("BTC/USDT", depth=1))
    assert snapshot.venue == "pricey"
    assert [(lv.price, lv.amount) for lv in snapshot.bids] == [(D(101), D(2))]
    assert [(lv.price, lv.amount) for lv in snapshot.asks] == [(D("102.01"), D(1))]


def test_fetch_order_book_without_books_in_the_stream_says_so() -> None:
    ex = venue()
    ex.process_event(flat_bar(0, 100))
    with pytest.raises(ExchangeError, match="carries bars"):
        run(ex.fetch_order_book("BTC/USDT"))


def test_fok_the_account_cannot_pay_for_at_the_levels_it_reaches_expires_untouched() -> None:
    ex = venue(balances={"USDT": "250"})
    ex.process_event(book(0, [("79", "5")], [("80", "5")]))
    ex.place_order(order("buy", 3, tif="FOK", coid="poor"))  # holds 240 at the ask of 80
    assert ex.process_event(book(1, BIDS, ASKS)) == ()  # 1 @ 101 + 1.5 @ 102 + 0.5 @ 103
    final = run(ex.fetch_order("poor", "BTC/USDT"))
    assert (final.status, final.filled_quantity) == (OrderStatus.EXPIRED, D(0))
    assert run(ex.fetch_balances())[0].free == D(250)
