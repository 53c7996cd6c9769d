"""Slippage from order-book depth, exactly: what walking the book would cost.

An order for ``q`` that takes liquidity fills level by level; its average
price against the book's mid is the expected slippage, in basis points:
``(average - mid) / mid x 10,000`` for a buy, ``(mid - average) / mid x
10,000`` for a sell (the half spread included: that is what crossing costs).
Without a mid (one side empty) the best price of the side taken is the
reference. A limit price stops the walk: the rest would rest on the book and
pay no slippage. Everything is Decimal: the guard's resize is an order size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from crypto_bot_sdk import BookLevel, OrderBook, Side

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Walk:
    """The part of an order the book takes at once, and what it costs."""

    filled: Decimal
    cost: Decimal  # sum of quantity x price over the levels taken
    unfilled: Decimal
    worst_price: Decimal | None

    @property
    def average_price(self) -> Decimal | None:
        return self.cost / self.filled if self.filled > 0 else None


@dataclass(frozen=True)
class Slippage:
    """Expected slippage of one order against one book."""

    reference: Decimal | None
    reference_kind: str  # "mid" or "best"
    walk: Walk
    bps: Decimal | None  # None when nothing fills at once

    @property
    def complete(self) -> bool:
        return self.walk.unfilled == 0


def taken_side(book: OrderBook, side: Side) -> tuple[BookLevel, ...]:
    """The levels an order of ``side`` takes: asks for a buy, bids for a sell."""
    return book.asks if side is Side.BUY else book.bids


def _acceptable(price: Decimal, side: Side, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return price <= limit if side is Side.BUY else price >= limit


def walk(
    levels: Sequence[BookLevel], quantity: Decimal, side: Side, limit: Decimal | None = None
) -> Walk:
    """Fill ``quantity`` level by level (stopping at ``limit``)."""
    left = quantity
    cost = Decimal(0)
    worst: Decimal | None = None
    for level in levels:
        if left <= 0 or not _acceptable(level.price, side, limit):
            break
        take = min(left, level.amount)
        cost += take * level.price
        left -= take
        worst = level.price
    return Walk(quantity - left, cost, left, worst)


def reference_price(book: OrderBook, side: Side) -> tuple[Decimal | None, str]:
    if book.mid is not None:
        return book.mid, "mid"
    levels = taken_side(book, side)
    return (levels[0].price, "best") if levels else (None, "none")


def slippage(
    book: OrderBook, side: Side, quantity: Decimal, limit: Decimal | None = None
) -> Slippage:
    """Expected slippage of taking ``quantity`` on ``side`` of ``book``."""
    reference, kind = reference_price(book, side)
    done = walk(taken_side(book, side), quantity, side, limit)
    average = done.average_price
    if reference is None or average is None:
        return Slippage(reference, kind, done, None)
    bps = (average - reference) / reference * BPS * side.sign
    return Slippage(reference, kind, done, bps)


def max_quantity_within(
    book: OrderBook, side: Side, max_bps: Decimal, limit: Decimal | None = None
) -> Decimal:
    """The largest quantity whose average price stays within ``max_bps`` of the reference.

    The average rises level by level; inside a level priced beyond the target
    average it crosses the target where ``cost + (q - Q) p = q target`` -- unless
    the whole level fits before that, and the walk goes on.
    """
    reference, _ = reference_price(book, side)
    if reference is None:
        return Decimal(0)
    target = reference * (1 + side.sign * max_bps / BPS)
    filled = Decimal(0)
    cost = Decimal(0)
    for level in taken_side(book, side):
        if not _acceptable(level.price, side, limit):
            break
        beyond = level.price > target if side is Side.BUY else level.price < target
        if beyond:
            # average(q) = (cost + (q - filled) p) / q = target  ->  q = (filled p - cost) / (p - t)
            crossing = (filled * level.price - cost) / (level.price - target)
            if crossing < filled + level.amount:
                return max(filled, crossing)
        filled += level.amount
        cost += level.amount * level.price
    return filled


def thinned(book: OrderBook, remove: Decimal, price_factor: Decimal = Decimal(1)) -> OrderBook:
    """``book`` with ``remove`` of every level's amount gone and prices times ``price_factor``.

    Levels that would have no amount left (``remove == 1``) are dropped.
    """
    keep = 1 - remove

    def levels(side: tuple[BookLevel, ...]) -> tuple[BookLevel, ...]:
        if keep <= 0:
            return ()
        return tuple(
            BookLevel(price=level.price * price_factor, amount=level.amount * keep)
            for level in side
        )

    return book.model_copy(update={"bids": levels(book.bids), "asks": levels(book.asks)})
