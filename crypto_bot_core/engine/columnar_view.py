"""A market view over columns: what the event path's view would show, built only when asked.

On the fast path nothing is folded into a view bar by bar. Where the
pipeline does look (sizing's last price, the router's quotes, a risk rule's
context) this view answers from the columns at its cursor, with the same
window (the last ``window`` bars per market), the same ``venue=None`` choice
(the first venue the stream showed) and the same exact decimals, so a rule
cannot tell the two paths apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import overload

from crypto_bot_core.engine.columnar import Columns, Market
from crypto_bot_sdk import Bar, Instrument, MetricPoint, OrderBook


class _Window(Sequence[Bar]):
    """Bars ``first..stop-1`` of one market, built on access."""

    def __init__(self, view: ColumnarMarketView, market: Market, first: int, stop: int) -> None:
        self._view = view
        self._market = market
        self._first = first
        self._stop = stop

    def __len__(self) -> int:
        return self._stop - self._first

    @overload
    def __getitem__(self, index: int) -> Bar: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Bar]: ...

    def __getitem__(self, index: int | slice) -> Bar | Sequence[Bar]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("bar index out of range")
        return self._view.bar(self._market, self._first + index)

    def __iter__(self) -> Iterator[Bar]:
        for i in range(self._first, self._stop):
            yield self._view.bar(self._market, i)


class ColumnarMarketView:
    """A :class:`~crypto_bot_sdk.MarketView` positioned at one index of a :class:`Columns`."""

    def __init__(self, columns: Columns, instruments: Sequence[Instrument], *, window: int) -> None:
        self._columns = columns
        self._instruments = tuple(instruments)
        self._window = window
        self._markets = {(m.symbol, m.venue): m for m in columns.markets}
        self._default: dict[str, Market] = {}
        for market in columns.markets:
            self._default.setdefault(market.symbol, market)
        self._cursor = -1
        self._now: datetime | None = None
        self._bars: dict[tuple[str, int], Bar] = {}

    def move(self, index: int, ts: datetime) -> None:
        """Show the market as it was after the bars at ``index`` (time ``ts``)."""
        if index != self._cursor:
            self._bars.clear()
        self._cursor = index
        self._now = ts

    @property
    def now(self) -> datetime:
        if self._now is None:
            raise LookupError("the market view has seen no event yet, so it has no time")
        return self._now

    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def _market(self, symbol: str, venue: str | None) -> Market | None:
        if self._cursor < 0:
            return None
        if venue is None:
            return self._default.get(symbol)
        return self._markets.get((symbol, venue))

    def bar(self, market: Market, index: int) -> Bar:
        key = (market.venue + "\0" + market.symbol, index)
        bar = self._bars.get(key)
        if bar is None:
            bar = self._columns.bar(market, index, self._columns.ts(index))
            self._bars[key] = bar
        return bar

    def bars(
        self, symbol: str, venue: str | None = None, limit: int | None = None
    ) -> Sequence[Bar]:
        market = self._market(symbol, venue)
        if market is None:
            return ()
        count = min(self._cursor + 1, self._window)
        if limit is not None and limit < count:
            count = limit
        return _Window(self, market, self._cursor + 1 - count, self._cursor + 1)

    def last_price(self, symbol: str, venue: str | None = None) -> Decimal | None:
        market = self._market(symbol, venue)
        return None if market is None else market.decimal("close", self._cursor)

    def order_book(self, symbol: str, venue: str) -> OrderBook | None:
        return None  # columnar sources carry bars only

    def metrics(
        self, name: str, symbol: str | None = None, limit: int | None = None
    ) -> Sequence[MetricPoint]:
        return ()
