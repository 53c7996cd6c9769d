"""The optional protocols of the backtest fast path, and the bars it reads as columns.

Two small structural protocols, defined here in the engine (not in the SDK:
they are engine optimisations, and a plugin that lacks them loses nothing
but speed):

* :class:`ColumnarSource` - a data source that can hand over one market's
  bars as numpy arrays (``SyntheticMarket.arrays``);
* :class:`SeriesAgent` - an agent that computes its signal on every bar of a
  series at once and builds, for any bar, exactly the :class:`Signal` its
  ``evaluate`` would return there (``EmaCrossoverAgent.signal_series``).

:func:`load_columns` turns the sources of a run into one :class:`Columns`
table and checks, with the source's own stream as the reference, that each
float column gives back the exact decimals of the streamed bars; anything it
cannot vouch for raises :class:`NotColumnar` and the engine takes the event
path instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from crypto_bot_core.engine.curve import to_micros
from crypto_bot_core.support.trusted import build
from crypto_bot_sdk import Bar, DataSource, Signal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PRICE_FIELDS = ("open", "high", "low", "close")
FIELDS = (*PRICE_FIELDS, "volume")


@runtime_checkable
class ColumnarSource(Protocol):
    """A data source whose bars a backtest may read as columns instead of events.

    ``arrays(symbol, venue)`` returns ``ts`` (int64 epoch milliseconds, bar open
    time) and float64 ``open``, ``high``, ``low``, ``close``, ``volume``, one
    entry per bar the source streams for that market, each float the correctly
    rounded value of the streamed decimal. Each field's decimals keep one
    exponent throughout a market, and at every timestamp the stream emits its
    markets in the same order (the engine reads that order and the exponents
    from the stream's first timestamp, and checks every float against them).
    """

    def arrays(self, symbol: str, venue: str) -> Mapping[str, Any]: ...


class SignalSeries(Protocol):
    """An agent's signal on every bar of one symbol's series."""

    @property
    def scores(self) -> Sequence[float]:
        """Score per bar; NaN where ``evaluate`` would return no signal."""
        ...

    @property
    def confidences(self) -> Sequence[float]: ...

    def signal(self, index: int, ts: datetime) -> Signal | None:
        """Exactly the :class:`Signal` ``evaluate`` returns at bar ``index`` (time ``ts``)."""
        ...


@runtime_checkable
class SeriesAgent(Protocol):
    """An agent that scores a whole series at once (pure: no state outside the series)."""

    def signal_series(self, symbol: str, bars: Mapping[str, Mapping[str, Any]]) -> SignalSeries:
        """``bars`` maps venue to that venue's arrays of ``symbol``; the first entry is the
        venue a market view answers ``venue=None`` queries with."""
        ...


class NotColumnar(Exception):
    """The run cannot take the fast path; the message says which part and why."""


@dataclass
class Market:
    """One (symbol, venue) of the run as columns, restricted to the run's window."""

    symbol: str
    venue: str
    timeframe: str
    arrays: dict[str, NDArray[Any]]
    exponents: dict[str, int]
    ticks: dict[str, list[int]] = field(default_factory=dict)

    def decimal(self, name: str, index: int) -> Decimal:
        """The streamed decimal of ``name`` at ``index`` (same digits, same exponent)."""
        column = self.ticks.get(name)
        if column is None:
            column = self.ticks[name] = _ticks(self.arrays[name], self.exponents[name]).tolist()
        return Decimal(column[index]).scaleb(self.exponents[name])


@dataclass
class Columns:
    """Every market of a run on one shared timeline."""

    markets: list[Market]
    """In the order the stream emits them at each timestamp."""
    micros: NDArray[np.int64]
    """Bar open times, microseconds since the epoch."""

    def __len__(self) -> int:
        return len(self.micros)

    def ts(self, index: int) -> datetime:
        from crypto_bot_core.engine.curve import from_micros

        return from_micros(int(self.micros[index]))

    def bar(self, market: Market, index: int, ts: datetime) -> Bar:
        """The bar the stream would have emitted (built unvalidated, as the stream does)."""
        return build(
            Bar,
            symbol=market.symbol,
            venue=market.venue,
            ts=ts,
            kind="bar",
            timeframe=market.timeframe,
            open=market.decimal("open", index),
            high=market.decimal("high", index),
            low=market.decimal("low", index),
            close=market.decimal("close", index),
            volume=market.decimal("volume", index),
        )

    def by_symbol(self) -> dict[str, list[Market]]:
        """Markets per symbol, first-seen venue first (a view's ``venue=None`` choice)."""
        out: dict[str, list[Market]] = {}
        for market in self.markets:
            out.setdefault(market.symbol, []).append(market)
        return out


def _ticks(values: NDArray[Any], exponent: int) -> NDArray[np.int64]:
    import numpy as np

    scale = 10.0 ** abs(exponent)
    raw = values * scale if exponent < 0 else values / scale
    return np.rint(raw).astype(np.int64)


def _as_float(ticks: NDArray[np.int64], exponent: int) -> NDArray[np.float64]:
    import numpy as np

    scale = float(10 ** abs(exponent))
    out = ticks / scale if exponent < 0 else ticks * scale
    return np.asarray(out, dtype=np.float64)


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise NotColumnar(f"streamed decimal {value} is not finite")
    return exponent


async def _first_tick(source: DataSource[Any], start: datetime) -> list[Bar]:
    """The stream's bars at its first timestamp from ``start``: the reference for order and
    exponents."""
    bars: list[Bar] = []
    async for event in source.stream(start, start + timedelta(milliseconds=1)):
        if not isinstance(event, Bar):
            raise NotColumnar(f"data source {source.name!r} streams {event.kind} events")
        bars.append(event)
    return bars


def _window(ts_ms: NDArray[np.int64], start: datetime | None, end: datetime | None) -> slice:
    import numpy as np

    micros = ts_ms * 1000
    first = 0 if start is None else int(np.searchsorted(micros, to_micros(start), "left"))
    stop = len(micros) if end is None else int(np.searchsorted(micros, to_micros(end), "left"))
    return slice(first, max(first, stop))


async def _source_markets(
    source: DataSource[Any], start: datetime | None, end: datetime | None
) -> tuple[list[Market], NDArray[np.int64]]:
    import numpy as np

    if not isinstance(source, ColumnarSource):
        raise NotColumnar(f"data source {source.name!r} offers no columnar arrays")
    if getattr(source, "emits_only_bars", True) is False:
        raise NotColumnar(
            f"data source {source.name!r} streams more than bars (funding rates, metrics)"
        )
    keys = list(dict.fromkeys((i.symbol, i.venue) for i in source.instruments()))
    if not keys:
        raise NotColumnar(f"data source {source.name!r} lists no instruments")
    raw = {key: dict(source.arrays(*key)) for key in keys}
    ts_ms = np.asarray(raw[keys[0]]["ts"], dtype=np.int64)
    for key in keys:
        if not np.array_equal(np.asarray(raw[key]["ts"], dtype=np.int64), ts_ms):
            raise NotColumnar(f"{key[0]} on {key[1]} has its own timeline")
    window = _window(ts_ms, start, end)
    ts_ms = ts_ms[window]
    if len(ts_ms) == 0:
        return [], ts_ms
    if len(ts_ms) > 1 and not bool(np.all(np.diff(ts_ms) > 0)):
        raise NotColumnar(f"data source {source.name!r} timestamps are not strictly increasing")
    first = await _first_tick(source, Columns([], ts_ms * 1000).ts(0))
    order = [(b.symbol, b.venue) for b in first]
    if sorted(order) != sorted(keys) or len(set(order)) != len(order):
        raise NotColumnar(
            f"data source {source.name!r} streams {order} at its first timestamp, "
            f"not its instruments {keys}"
        )
    markets = []
    for bar in first:
        arrays = {name: np.asarray(raw[(bar.symbol, bar.venue)][name])[window] for name in FIELDS}
        exponents = {name: _exponent(getattr(bar, name)) for name in FIELDS}
        for name in FIELDS:
            values = arrays[name]
            if not np.array_equal(
                _as_float(_ticks(values, exponents[name]), exponents[name]), values
            ):
                raise NotColumnar(
                    f"{bar.symbol} on {bar.venue}: {name} floats are not decimals with "
                    f"exponent {exponents[name]}"
                )
        market = Market(bar.symbol, bar.venue, bar.timeframe, arrays, exponents)
        reference = Columns([market], ts_ms * 1000)
        if reference.bar(market, 0, bar.ts) != bar or str(market.decimal("close", 0)) != str(
            bar.close
        ):
            raise NotColumnar(f"{bar.symbol} on {bar.venue}: columns differ from the stream")
        markets.append(market)
    return markets, ts_ms


async def load_columns(
    sources: Sequence[DataSource[Any]], start: datetime | None, end: datetime | None
) -> Columns:
    """The run's bars as columns, in the merged stream's order; :class:`NotColumnar` if not."""
    import numpy as np

    markets: list[Market] = []
    timeline: NDArray[np.int64] | None = None
    for source in sources:
        found, ts_ms = await _source_markets(source, start, end)
        if timeline is not None and not np.array_equal(timeline, ts_ms):
            raise NotColumnar("the data sources do not share one timeline")
        timeline = ts_ms
        markets.extend(found)
    if timeline is None or len(timeline) == 0:
        raise NotColumnar("no bars in the run's window")
    if len({(m.symbol, m.venue) for m in markets}) != len(markets):
        raise NotColumnar("two data sources stream the same market")
    return Columns(markets, timeline * 1000)
