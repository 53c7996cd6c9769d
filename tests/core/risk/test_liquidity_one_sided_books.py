"""Slippage and the largest order within a slippage limit, on thin and one-sided books.

After a crash a book can lose one side entirely, or hold too little to fill an order.
The liquidity guard must then measure against the best price left, size to what the
book really holds, and stop at a limit price - each checked here with figures worked
out by hand from the levels.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.risk.liquidity import max_quantity_within, reference_price, slippage
from crypto_bot_sdk import Side

from .risk_helpers import book

ASKS_ONLY = book("BTC/USDT", "alpha", bids=[], asks=[("100", "1"), ("102", "1")])


def test_without_a_mid_the_best_price_of_the_side_taken_is_the_reference() -> None:
    assert reference_price(ASKS_ONLY, Side.BUY) == (Decimal(100), "best")
    assert reference_price(ASKS_ONLY, Side.SELL) == (None, "none")


def test_slippage_on_a_one_sided_book_is_measured_from_its_best_price() -> None:
    # 1.5 BTC: 1 at 100 and 0.5 at 102; average 100.6667, 66.67 bps over the best ask.
    result = slippage(ASKS_ONLY, Side.BUY, Decimal("1.5"))
    assert result.reference_kind == "best"
    assert result.complete is True
    assert result.bps is not None
    assert round(result.bps, 2) == Decimal("66.67")


def test_a_sell_into_a_book_without_bids_fills_nothing_and_has_no_slippage() -> None:
    result = slippage(ASKS_ONLY, Side.SELL, Decimal(1))
    assert (result.reference, result.bps, result.complete) == (None, None, False)
    assert result.walk.unfilled == Decimal(1)
    assert max_quantity_within(ASKS_ONLY, Side.SELL, Decimal(50)) == Decimal(0)


def test_a_book_that_stays_within_the_limit_to_its_end_gives_all_it_holds() -> None:
    # Both ask levels stay within 300 bps of 100: the whole 2 BTC, nothing beyond.
    assert max_quantity_within(ASKS_ONLY, Side.BUY, Decimal(300)) == Decimal(2)


def test_a_limit_price_stops_the_walk_before_the_level_beyond_it() -> None:
    # Within 300 bps both levels would do, but a limit at 101 never reaches 102.
    assert max_quantity_within(ASKS_ONLY, Side.BUY, Decimal(300), limit=Decimal(101)) == 1


def test_inside_a_level_the_size_stops_where_the_average_reaches_the_limit() -> None:
    # Target average 100 x (1 + 100 bps) = 101: 1 at 100 then q - 1 at 102 averages 101
    # when 100 + 102 (q - 1) = 101 q, q = 2 - exactly the book; at 50 bps (100.5),
    # 100 + 102 (q - 1) = 100.5 q gives q = 2 / 1.5 = 1.3333...
    assert max_quantity_within(ASKS_ONLY, Side.BUY, Decimal(50)) == Decimal(2) / Decimal("1.5")
