"""Slippage from order-book depth, exactly, and the book a liquidity shock leaves."""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.risk.liquidity import max_quantity_within, slippage, thinned, walk
from crypto_bot_sdk import Side

from .risk_helpers import book

BOOK = book(
    "BTC/USDT",
    "alpha",
    bids=[("99.5", "1"), ("99.0", "2")],
    asks=[("100.0", "1"), ("100.5", "2"), ("101.0", "3")],
)
MID = Decimal("99.75")


def test_a_buy_walks_the_asks_and_pays_against_the_mid() -> None:
    estimate = slippage(BOOK, Side.BUY, Decimal(2))
    assert estimate.walk.cost == Decimal("200.5")
    assert estimate.walk.average_price == Decimal("100.25")
    assert estimate.bps == Decimal("0.5") / MID * 10_000
    assert estimate.complete


def test_a_sell_beyond_the_book_reports_what_is_left() -> None:
    estimate = slippage(BOOK, Side.SELL, Decimal(5))
    assert (estimate.walk.filled, estimate.walk.unfilled) == (Decimal(3), Decimal(2))
    assert estimate.walk.worst_price == Decimal("99.0")
    assert not estimate.complete


def test_a_limit_price_stops_the_walk() -> None:
    done = walk(BOOK.asks, Decimal(5), Side.BUY, limit=Decimal("100.5"))
    assert (done.filled, done.cost) == (Decimal(3), Decimal("301.0"))
    assert slippage(BOOK, Side.BUY, Decimal(1), limit=Decimal("99.9")).bps is None


def test_largest_quantity_within_a_slippage_limit_solves_the_average_exactly() -> None:
    limit = Decimal(60)
    target = MID * (1 + limit / 10_000)
    # Level 1 (100.0) and 2 (100.5) fit whole; the average crosses the target inside level 3:
    # (301 + (q - 3) 101) / q = target  ->  q = (3 x 101 - 301) / (101 - target).
    expected = (3 * Decimal(101) - Decimal(301)) / (Decimal(101) - target)
    found = max_quantity_within(BOOK, Side.BUY, limit)
    assert found == expected
    assert slippage(BOOK, Side.BUY, found).bps == limit
    assert max_quantity_within(BOOK, Side.BUY, Decimal(1)) == 0  # the half spread is 25 bps


def test_depth_removal_keeps_prices_and_cuts_amounts() -> None:
    thin = thinned(BOOK, Decimal("0.9"), price_factor=Decimal("0.5"))
    assert [(lv.price, lv.amount) for lv in thin.asks] == [
        (Decimal("50.00"), Decimal("0.1")),
        (Decimal("50.250"), Decimal("0.2")),
        (Decimal("50.50"), Decimal("0.3")),
    ]
    assert thinned(BOOK, Decimal(1)).bids == ()
