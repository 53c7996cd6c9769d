"""Checked rows of one series held as columns, and the SDK events built from them.

A chunk is the unit the replay moves around: a few thousand consecutive
rows of one series, already validated, as parallel lists (timestamps,
datetimes, exact ``Decimal`` values). Holding columns rather than one object
per row keeps the per-row cost down to what is unavoidable: the values
themselves, which are not tracked by the garbage collector, so a chunk in
flight adds no collector work.

Events are built from a chunk only when they are asked for, one at a time,
without pydantic's validation: every field was checked when the row was read
(``validation.py``/``parsing.py``), and validating a ``Bar`` again costs
several microseconds, more than reading the row. The shortcut sets exactly
what ``model_construct`` sets (see ``crypto_bot_core.support.trusted``, whose
guard decides whether it is exact for the model); where it is not, the
chunk falls back to ``model_construct``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, TypeVar

from pydantic import BaseModel

from crypto_bot_core.support.trusted import shortcut_fields
from crypto_bot_sdk import Bar, Side, Trade

BAR_FIELDS = (
    "symbol",
    "venue",
    "ts",
    "kind",
    "timeframe",
    "open",
    "high",
    "low",
    "close",
    "volume",
)
TRADE_FIELDS = ("symbol", "venue", "ts", "kind", "trade_id", "price", "amount", "side")


def _slot_setters(cls: type[Any], names: Sequence[str]) -> tuple[Any, Any, Any] | None:
    """Setters of pydantic's per-instance slots if building ``cls`` by hand is exact, else None.

    Only for frozen models: their events share one fields-set object (see
    :func:`_events`), which is safe only because pydantic refuses
    assignment to a frozen model before it would add to that set, and copies
    the set before changing a copy (``model_copy(update=...)``).
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return None
    if not cls.model_config.get("frozen"):
        return None
    if shortcut_fields(cls) != frozenset(names) or tuple(cls.__pydantic_fields__) != tuple(names):
        return None
    slots = BaseModel.__dict__
    try:
        return (
            slots["__pydantic_fields_set__"].__set__,
            slots["__pydantic_extra__"].__set__,
            slots["__pydantic_private__"].__set__,
        )
    except (KeyError, AttributeError):
        return None


_BAR_SLOTS = _slot_setters(Bar, BAR_FIELDS)
_TRADE_SLOTS = _slot_setters(Trade, TRADE_FIELDS)
_set_attribute = object.__setattr__
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

_Event = TypeVar("_Event", bound=BaseModel)


def _events(
    cls: type[_Event],
    slots: tuple[Any, Any, Any] | None,
    names: Sequence[str],
    rows: Iterator[dict[str, Any]],
) -> Iterator[_Event]:
    """``cls`` events from ``rows`` (each a complete field mapping), one as each is taken.

    The one place that builds events by hand, for bars and trades alike: with
    ``slots`` (from :func:`_slot_setters`) an event is its ``__dict__`` and pydantic's
    three slots set directly, exactly what ``model_construct`` sets; without them, it
    is ``model_construct``.
    """
    if slots is None:
        for row in rows:
            yield cls.model_construct(**row)
        return
    set_fields, set_extra, set_private = slots
    new = cls.__new__
    set_dict = _set_attribute
    # One fields set for all: each object the collector tracks per event costs it time
    # on every pass while the event lives, and a frozen event's set never changes.
    fields_set = set(names)
    for row in rows:
        event = new(cls)
        set_dict(event, "__dict__", row)
        set_fields(event, fields_set)
        set_extra(event, None)
        set_private(event, None)
        yield event


@dataclass(slots=True)
class BarChunk:
    """Consecutive checked OHLCV rows of one series.

    ``floats`` holds, per price/volume column, values ``float()`` turns into
    the column's float exactly as it would the Decimal: the CSV text when the
    block came in as text (one parse instead of two), else the Decimals.
    """

    ts: list[int]
    times: list[datetime]
    open: list[Decimal]
    high: list[Decimal]
    low: list[Decimal]
    close: list[Decimal]
    volume: list[Decimal]
    floats: tuple[Sequence[str | Decimal], ...]

    def __len__(self) -> int:
        return len(self.ts)

    def cut(self, first: int, stop: int) -> BarChunk:
        """Rows ``[first, stop)``."""
        return BarChunk(
            self.ts[first:stop],
            self.times[first:stop],
            self.open[first:stop],
            self.high[first:stop],
            self.low[first:stop],
            self.close[first:stop],
            self.volume[first:stop],
            tuple(column[first:stop] for column in self.floats),
        )

    @staticmethod
    def join(parts: Sequence[BarChunk]) -> BarChunk:
        if len(parts) == 1:
            return parts[0]

        def joined(name: str) -> list[Any]:
            return list(chain.from_iterable(getattr(part, name) for part in parts))

        return BarChunk(
            joined("ts"),
            joined("times"),
            joined("open"),
            joined("high"),
            joined("low"),
            joined("close"),
            joined("volume"),
            tuple(
                list(chain.from_iterable(part.floats[i] for part in parts))
                for i in range(len(parts[0].floats))
            ),
        )

    def carried_forward(
        self, interval_ms: int, previous: tuple[int, Decimal, str | Decimal] | None
    ) -> BarChunk:
        """The rows with a flat bar in every missing slot: open, high, low and close at the
        last close before it, volume 0 (the replay's ``gaps: carry-forward``).

        ``previous`` is the series' last row before this chunk: (timestamp, close, the
        close's float source), so a gap across two chunks or two files is filled too.
        Returns the chunk itself when nothing is missing (the usual case: one comparison).
        """
        ts = self.ts
        count = len(ts)
        if not count:
            return self
        continuous = ts[-1] - ts[0] == (count - 1) * interval_ms
        if continuous and (previous is None or ts[0] - previous[0] == interval_ms):
            return self
        filled = BarChunk([], [], [], [], [], [], [], tuple([] for _ in self.floats))
        last = previous
        for i, stamp in enumerate(ts):
            if last is not None:
                close, source = last[1], last[2]
                for missing in range(last[0] + interval_ms, stamp, interval_ms):
                    filled._append_flat(missing, close, source)
            floats = self.floats
            filled.ts.append(stamp)
            filled.times.append(self.times[i])
            filled.open.append(self.open[i])
            filled.high.append(self.high[i])
            filled.low.append(self.low[i])
            filled.close.append(self.close[i])
            filled.volume.append(self.volume[i])
            for column, values in zip(filled.floats, floats, strict=True):
                column.append(values[i])  # type: ignore[attr-defined]
            last = (stamp, self.close[i], floats[3][i])
        return filled

    def _append_flat(self, stamp: int, close: Decimal, source: str | Decimal) -> None:
        """A filler row at ``close``, volume 0; its float sources the close's and ``0``."""
        zero = Decimal(0)
        self.ts.append(stamp)
        self.times.append(_EPOCH + stamp * _MS)
        self.open.append(close)
        self.high.append(close)
        self.low.append(close)
        self.close.append(close)
        self.volume.append(zero)
        for index, column in enumerate(self.floats):
            column.append(zero if index == 4 else source)  # type: ignore[attr-defined]

    def events(self, symbol: str, venue: str, timeframe: str) -> Iterator[Bar]:
        """The rows as ``Bar`` events, built one at a time as they are taken."""
        columns = zip(
            self.times, self.open, self.high, self.low, self.close, self.volume, strict=True
        )
        return _events(
            Bar,
            _BAR_SLOTS,
            BAR_FIELDS,
            (
                {
                    "symbol": symbol,
                    "venue": venue,
                    "ts": ts,
                    "kind": "bar",
                    "timeframe": timeframe,
                    "open": o,
                    "high": h,
                    "low": low,
                    "close": c,
                    "volume": v,
                }
                for ts, o, h, low, c, v in columns
            ),
        )

    def columns(self, timeframe: str) -> BarColumns:
        """The rows as machine columns: ``ts_ms`` int64, the prices and volume float64."""
        return BarColumns(timeframe, array("q", self.ts), self.floats)


class BarColumns:
    """One market's bars of a block as columns; row ``i`` is the market's ``i``-th bar there.

    ``ts_ms`` is int64 milliseconds (the bar's open time); ``open``, ``high``,
    ``low``, ``close`` and ``volume`` are float64, the nearest doubles to the
    exact decimals the events carry (``float()`` of the file's text), for
    vectorised precomputation; the events stay the reference for anything
    that books money. A price column is converted when first read (a strategy
    on closes never pays for the other four), then kept.
    """

    __slots__ = ("_arrays", "_sources", "timeframe", "ts_ms")

    def __init__(
        self, timeframe: str, ts_ms: array[int], sources: Sequence[Sequence[str | Decimal]]
    ) -> None:
        self.timeframe = timeframe
        self.ts_ms = ts_ms
        self._sources: list[Sequence[str | Decimal] | None] = list(sources)
        self._arrays: list[array[float] | None] = [None] * len(sources)

    def _column(self, index: int) -> array[float]:
        found = self._arrays[index]
        if found is None:
            source = self._sources[index]
            assert source is not None
            found = self._arrays[index] = array("d", map(float, source))
            self._sources[index] = None
        return found

    @property
    def open(self) -> array[float]:
        return self._column(0)

    @property
    def high(self) -> array[float]:
        return self._column(1)

    @property
    def low(self) -> array[float]:
        return self._column(2)

    @property
    def close(self) -> array[float]:
        return self._column(3)

    @property
    def volume(self) -> array[float]:
        return self._column(4)

    def __len__(self) -> int:
        return len(self.ts_ms)

    def __repr__(self) -> str:
        return f"BarColumns({self.timeframe}, {len(self)} bars)"


@dataclass(slots=True)
class TradeChunk:
    """Consecutive checked trades of one series."""

    ts: list[int]
    times: list[datetime]
    ids: list[str]
    sides: list[Side]
    prices: list[Decimal]
    amounts: list[Decimal]

    def __len__(self) -> int:
        return len(self.ts)

    def cut(self, first: int, stop: int) -> TradeChunk:
        return TradeChunk(
            self.ts[first:stop],
            self.times[first:stop],
            self.ids[first:stop],
            self.sides[first:stop],
            self.prices[first:stop],
            self.amounts[first:stop],
        )

    @staticmethod
    def join(parts: Sequence[TradeChunk]) -> TradeChunk:
        if len(parts) == 1:
            return parts[0]

        def joined(name: str) -> list[Any]:
            return list(chain.from_iterable(getattr(part, name) for part in parts))

        return TradeChunk(
            joined("ts"),
            joined("times"),
            joined("ids"),
            joined("sides"),
            joined("prices"),
            joined("amounts"),
        )

    def events(self, symbol: str, venue: str) -> Iterator[Trade]:
        """The rows as ``Trade`` events, built one at a time as they are taken."""
        columns = zip(self.times, self.ids, self.sides, self.prices, self.amounts, strict=True)
        return _events(
            Trade,
            _TRADE_SLOTS,
            TRADE_FIELDS,
            (
                {
                    "symbol": symbol,
                    "venue": venue,
                    "ts": ts,
                    "kind": "trade",
                    "trade_id": trade_id,
                    "price": price,
                    "amount": amount,
                    "side": side,
                }
                for ts, trade_id, side, price, amount in columns
            ),
        )


Chunk = BarChunk | TradeChunk
