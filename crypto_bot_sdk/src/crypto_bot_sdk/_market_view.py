"""The read-only market state agents and risk rules see.

:class:`MarketView` is a protocol so the engine can hand agents its own fast
structure; :class:`InMemoryMarketView` is a simple implementation for tests,
notebooks and the conformance kit.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from crypto_bot_sdk._market import Bar, Instrument, MarketEvent, MetricPoint, OrderBook, Trade


@runtime_checkable
class MarketView(Protocol):
    """What is known about the market at :attr:`now`. Never anything from the future."""

    @property
    def now(self) -> datetime: ...

    def instruments(self) -> Sequence[Instrument]: ...

    def bars(
        self, symbol: str, venue: str | None = None, limit: int | None = None
    ) -> Sequence[Bar]:
        """Closed bars of ``symbol``, oldest first; the last ``limit`` of them if given."""
        ...

    def last_price(self, symbol: str, venue: str | None = None) -> Decimal | None: ...

    def order_book(self, symbol: str, venue: str) -> OrderBook | None: ...

    def metrics(
        self, name: str, symbol: str | None = None, limit: int | None = None
    ) -> Sequence[MetricPoint]: ...


class InMemoryMarketView:
    """A bounded in-memory :class:`MarketView` fed event by event.

    ``venue=None`` in a query means "the first venue that has data", which is
    what single-venue agents want.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument] = (),
        *,
        max_bars: int = 10_000,
        now: datetime | None = None,
    ) -> None:
        self._instruments = tuple(instruments)
        self._max_bars = max_bars
        self._bars: dict[tuple[str, str], deque[Bar]] = defaultdict(
            lambda: deque(maxlen=self._max_bars)
        )
        self._last: dict[tuple[str, str], Decimal] = {}
        self._books: dict[tuple[str, str], OrderBook] = {}
        self._metrics: dict[tuple[str, str | None], deque[MetricPoint]] = defaultdict(
            lambda: deque(maxlen=self._max_bars)
        )
        self._now = now

    @property
    def now(self) -> datetime:
        if self._now is None:
            raise LookupError("the market view has seen no event yet, so it has no time")
        return self._now

    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def update(self, event: MarketEvent) -> None:
        """Fold one event in; events must arrive in time order."""
        if isinstance(event, Bar):
            self._bars[(event.symbol, event.venue)].append(event)
            self._last[(event.symbol, event.venue)] = event.close
        elif isinstance(event, Trade):
            self._last[(event.symbol, event.venue)] = event.price
        elif isinstance(event, OrderBook):
            self._books[(event.symbol, event.venue)] = event
            if event.mid is not None:
                self._last[(event.symbol, event.venue)] = event.mid
        else:
            self._metrics[(event.name, event.symbol)].append(event)
        self._now = event.ts

    def _venue_for(self, symbol: str, venue: str | None, table: Iterable[tuple[str, str]]) -> str:
        if venue is not None:
            return venue
        for sym, ven in table:
            if sym == symbol:
                return ven
        return ""

    def bars(
        self, symbol: str, venue: str | None = None, limit: int | None = None
    ) -> Sequence[Bar]:
        key = (symbol, self._venue_for(symbol, venue, self._bars.keys()))
        series = self._bars.get(key)
        if not series:
            return ()
        if limit is None or limit >= len(series):
            return tuple(series)
        # Index from the right: agents ask for a few recent bars every tick, and copying
        # the whole window each time would dominate their cost.
        return tuple(series[i] for i in range(-limit, 0))

    def last_price(self, symbol: str, venue: str | None = None) -> Decimal | None:
        return self._last.get((symbol, self._venue_for(symbol, venue, self._last.keys())))

    def order_book(self, symbol: str, venue: str) -> OrderBook | None:
        return self._books.get((symbol, venue))

    def metrics(
        self, name: str, symbol: str | None = None, limit: int | None = None
    ) -> Sequence[MetricPoint]:
        items = tuple(self._metrics.get((name, symbol), ()))
        return items if limit is None else items[-limit:]


def check_market_view(value: object) -> MarketView:
    """``value`` if it offers the :class:`MarketView` members; a ``ValueError`` naming the
    missing ones otherwise (the validator of the context models' ``market`` field)."""
    # Checked on the type, not the instance: a view that has seen no event raises on
    # ``now``, and Python 3.11's runtime protocol check would evaluate that property.
    missing = [
        name
        for name in ("now", "instruments", "bars", "last_price", "order_book", "metrics")
        if not hasattr(type(value), name)
    ]
    if missing:
        raise ValueError(
            f"{type(value).__name__} is not a MarketView: it lacks {', '.join(missing)}"
        )
    return value  # type: ignore[return-value]
