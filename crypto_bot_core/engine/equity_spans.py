"""Equity over a quiet span of the fast path: exact, without a portfolio call per bar.

Between full ticks no fill happens and only marks move, so the equity after
each bar is the portfolio's formula with one input changing. This module
evaluates :meth:`Portfolio.equity` for every bar of a span with the very same
``Decimal`` operations in the very same order (cash plus the running sum of
position values per venue, then the sum over venues, each sum starting from
``0``) - only the marks come from the columns - so each value, and the peak,
is the object the event path would have produced, digit for digit. A span
with no marked position is one value repeated.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import chain

from crypto_bot_core.engine.columnar import Columns, Market
from crypto_bot_core.engine.curve import EquityCurve
from crypto_bot_core.engine.portfolio import Portfolio, _Book
from crypto_bot_sdk import InstrumentKind

ZERO = Decimal(0)

Part = tuple[Decimal, None] | tuple[_Book, Market]
"""A term of a venue's sum: a constant value, or a position marked from a market's closes."""


class SpanEquity:
    """Equity per bar of spans of one run's columns, for one portfolio."""

    def __init__(self, portfolio: Portfolio, columns: Columns) -> None:
        self.portfolio = portfolio
        self.columns = columns
        self.markets = {(m.venue, m.symbol): m for m in columns.markets}

    def _marked(self) -> list[tuple[_Book, Market]]:
        return [
            (book, self.markets[key])
            for key, book in self.portfolio.books.items()
            if key in self.markets
        ]

    def span(self, first: int, stop: int, curve: EquityCurve) -> None:
        """Append bars ``[first, stop)`` to ``curve``; leave marks and peak as after ``stop-1``."""
        portfolio = self.portfolio
        marked = self._marked()
        micros = self.columns.micros[first:stop].tobytes()
        moving = {id(book) for book, _ in marked if book.quantity != 0}
        if not moving:
            self._mark(marked, stop - 1)
            curve.extend_flat(micros, portfolio.update_peak())
            return
        values = self._values(first, stop, moving)
        portfolio.peak_equity = max(chain((portfolio.peak_equity,), values))
        self._mark(marked, stop - 1)
        curve.extend_micros(micros, values)

    @staticmethod
    def _mark(marked: list[tuple[_Book, Market]], index: int) -> None:
        for book, market in marked:
            book.mark = market.decimal("close", index)

    def _plan(self, moving: set[int]) -> list[tuple[Decimal, list[Part]]]:
        portfolio = self.portfolio
        plan: list[tuple[Decimal, list[Part]]] = []
        for account in portfolio.accounts.values():
            parts: list[Part] = []
            for key, book in portfolio.books.items():
                if book.venue != account.venue:
                    continue
                if id(book) in moving:
                    parts.append((book, self.markets[key]))
                else:
                    parts.append((portfolio._value(book), None))
            plan.append((account.cash, parts))
        return plan

    def _values(self, first: int, stop: int, moving: set[int]) -> list[Decimal]:
        plan = self._plan(moving)
        if len(plan) == 1:
            single = _single_moving(plan[0][1])
            if single is not None:
                prefix, book, market, suffix = single
                return _one_position(
                    plan[0][0], prefix, book, market, suffix=suffix, first=first, stop=stop
                )
        out: list[Decimal] = []
        for index in range(first, stop):
            total = ZERO
            for cash, parts in plan:
                running = ZERO
                for part in parts:
                    if part[1] is None:
                        running = running + part[0]
                    else:
                        book, market = part
                        running = running + _value(book, market.decimal("close", index))
                total = total + (cash + running)
            out.append(total)
        return out


def _value(book: _Book, mark: Decimal) -> Decimal:
    """``Portfolio._value`` with ``mark`` in place of the book's mark."""
    if book.kind is InstrumentKind.SPOT:
        return book.quantity * mark * book.contract_size
    return (mark - book.entry) * book.quantity * book.contract_size


def _single_moving(
    parts: list[Part],
) -> tuple[Decimal, _Book, Market, list[Decimal]] | None:
    """(sum of the constants before it, the one moving position, the constants after it)."""
    prefix = ZERO
    found: tuple[_Book, Market] | None = None
    suffix: list[Decimal] = []
    for part in parts:
        if part[1] is None:
            if found is None:
                prefix = prefix + part[0]
            else:
                suffix.append(part[0])
        elif found is None:
            found = (part[0], part[1])
        else:
            return None
    if found is None:
        return None
    return prefix, found[0], found[1], suffix


def _one_position(
    cash: Decimal,
    prefix: Decimal,
    book: _Book,
    market: Market,
    *,
    suffix: list[Decimal],
    first: int,
    stop: int,
) -> list[Decimal]:
    """The common case (one venue, one open position) as a tight loop; same operations."""
    market.decimal("close", first)  # builds the tick column once
    ticks = market.ticks["close"]
    exponent = market.exponents["close"]
    quantity, size, entry = book.quantity, book.contract_size, book.entry
    spot = book.kind is InstrumentKind.SPOT
    out: list[Decimal] = []
    append = out.append
    zero = ZERO
    for index in range(first, stop):
        mark = Decimal(ticks[index]).scaleb(exponent)
        value = quantity * mark * size if spot else (mark - entry) * quantity * size
        running = prefix + value
        for constant in suffix:
            running = running + constant
        append(zero + (cash + running))
    return out
