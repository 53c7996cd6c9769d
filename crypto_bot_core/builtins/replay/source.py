"""The ``replay`` data source: recorded OHLCV bars and trades, streamed from disk, merged in time.

Files are never held: :meth:`ReplaySource.stream` reads each series a block
(a few thousand rows) at a time, checks the block and hands out its events,
so memory stays flat however long the file (a million one-minute bars stream
in well under 100 MB where holding them took over a gigabyte). What must be
known before the first event costs a pass that holds nothing either:
:meth:`ReplaySource.start` opens every file and checks its header, and the
instruments' inferred increments (no ``tick_size``/``lot_size`` configured)
come from a scan that parses only the blocks that could refine them (see
``parsing.py``). Bad rows are therefore refused when the stream reaches
them, with the same message as ever (file, line, data row, column, value,
what to do), as a :class:`~crypto_bot_sdk.DataSourceError` that ends the run
cleanly; rows past the window's ``end`` are not read at all.

Blocks for precomputation
-------------------------

:meth:`ReplaySource.blocks` hands out the same stream as consecutive blocks,
each with its events *and* float columns of the bars in it, built from one
parse of the text, for an engine that precomputes indicators over columns
and then steps through events::

    for block in source.blocks(start, end, size=65536):
        block.events                  # list[MarketEvent], exactly stream()'s, in its order
        block.bars[("binance", "BTC/USDT")]   # BarColumns for that (venue, symbol)
        #   .ts_ms array('q'), .open/.high/.low/.close/.volume array('d'), .timeframe
        #   row i is that market's i-th Bar in block.events

A block never splits a timestamp: all events at one time are in one block.
It holds at most ``size`` events unless one timestamp alone has more.
Concatenating every block's events gives what :meth:`~ReplaySource.stream`
yields over the same window; markets without bars in a block (trades only,
or a gap) have no entry in ``bars``.
"""

from __future__ import annotations

import gc
import heapq
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from crypto_bot_core.builtins.replay.chunks import BarChunk, BarColumns, Chunk, TradeChunk
from crypto_bot_core.builtins.replay.config import (
    GapMode,
    ReplayConfig,
    ReplayFile,
    timeframe_ms,
)
from crypto_bot_core.builtins.replay.parsing import OhlcvParser, TradeParser, scan_precision
from crypto_bot_core.builtins.replay.reading import CsvRows, Reader, TextBlock, open_reader
from crypto_bot_core.builtins.replay.validation import (
    EPOCH,
    MS,
    OHLCV_COLUMNS,
    TRADE_COLUMNS,
    TRADE_OPTIONAL,
    OhlcvChecker,
    Precision,
    TradeChecker,
)
from crypto_bot_sdk import (
    DataSource,
    DataSourceError,
    Instrument,
    InstrumentKind,
    MarketEvent,
    parse_symbol,
)

DEFAULT_BLOCK_EVENTS = 65536


def _to_ms(moment: datetime | None) -> int | None:
    """The first whole millisecond at or after ``moment`` (None stays None)."""
    return None if moment is None else -((EPOCH - moment) // MS)


@dataclass
class _Series:
    """One market's files of one kind (and timeframe), in config order: one checked sequence."""

    files: list[ReplayFile]
    gaps: GapMode

    @property
    def spec(self) -> ReplayFile:
        """The first file: symbol, venue, kind and timeframe of the whole series."""
        return self.files[0]

    def chunks(self, lo: int | None, hi: int | None) -> Iterator[Chunk]:
        """Checked rows with ``lo <= ts < hi`` (ms), a block at a time; reading stops at ``hi``."""
        spec = self.spec
        ohlcv = spec.kind == "ohlcv"
        checker: OhlcvChecker | TradeChecker
        if ohlcv:
            assert spec.timeframe is not None  # required by ReplayFile's validator
            checker = OhlcvChecker(
                interval_ms=timeframe_ms(spec.timeframe),
                timeframe=spec.timeframe,
                allow_gaps=self.gaps != "refuse",
            )
        else:
            checker = TradeChecker(symbol=spec.symbol)
        carry = ohlcv and self.gaps == "carry-forward"
        interval = checker.interval_ms if isinstance(checker, OhlcvChecker) else 0
        previous: tuple[int, Decimal, str | Decimal] | None = None
        columns = (OHLCV_COLUMNS, ()) if ohlcv else (TRADE_COLUMNS, TRADE_OPTIONAL)
        for item in self.files:
            checker.start_file(item.path)
            with open_reader(item.path, item.file_format, *columns) as reader:
                parser: OhlcvParser | TradeParser
                if isinstance(checker, OhlcvChecker):
                    parser = OhlcvParser(checker, reader.header)
                else:
                    parser = TradeParser(checker, reader.header)
                for block in reader.blocks():
                    chunk = parser.parse(block)
                    if not chunk.ts:
                        continue
                    if carry and isinstance(chunk, BarChunk):
                        chunk = chunk.carried_forward(interval, previous)
                        previous = (chunk.ts[-1], chunk.close[-1], chunk.floats[3][-1])
                    ts = chunk.ts
                    if lo is not None and ts[-1] < lo:
                        continue
                    first = 0 if lo is None or ts[0] >= lo else bisect_left(ts, lo)
                    if hi is not None and ts[-1] >= hi:
                        stop = bisect_left(ts, hi)
                        if stop > first:
                            yield chunk.cut(first, stop)
                        return
                    yield chunk if first == 0 else chunk.cut(first, len(ts))

    def events(self, chunk: Chunk) -> Iterator[MarketEvent]:
        spec = self.spec
        if isinstance(chunk, BarChunk):
            return chunk.events(spec.symbol, spec.venue, spec.timeframe or "")
        return chunk.events(spec.symbol, spec.venue)

    def stream(self, lo: int | None, hi: int | None) -> Iterator[MarketEvent]:
        for chunk in self.chunks(lo, hi):
            yield from self.events(chunk)

    def precision(self) -> Precision:
        """The finest increments over all of the series' files (one pass, nothing held)."""
        found = Precision()
        spec = self.spec
        columns = (OHLCV_COLUMNS, ()) if spec.kind == "ohlcv" else (TRADE_COLUMNS, TRADE_OPTIONAL)
        for item in self.files:
            with open_reader(item.path, item.file_format, *columns) as reader:
                scan_precision(reader, spec.kind, found)
        return found


def _has_rows(reader: Reader) -> bool:
    """Whether a file holds a data row after its header (blank lines are none): a file cut
    short after its header would otherwise replay as a market without a single event."""
    for block in reader.blocks():
        if isinstance(block, TextBlock):
            if block.text.strip():
                return True
        elif isinstance(block, CsvRows):
            if any(any(cell.strip() for cell in cells) for _line, cells in block.rows):
                return True
        elif block.columns and block.columns[0]:
            return True
    return False


def _group(config: ReplayConfig) -> list[_Series]:
    series: dict[tuple[str, str, str, str], _Series] = {}
    for spec in config.files:
        current = series.get(spec.series_key)
        if current is None:
            series[spec.series_key] = _Series([spec], config.gap_mode)
        else:
            current.files.append(spec)
    return list(series.values())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a block's events are built.

    A block holds tens of thousands of new bars, none of them in a cycle.
    Built with the collector on, the growing list triggers full collections
    that walk every bar built so far, again and again (a third of the cost
    of a block); paused, each bar is looked at a couple of times after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _event_ts(event: MarketEvent) -> datetime:
    return event.ts


@dataclass(frozen=True, slots=True)
class ReplayBlock:
    """Consecutive events of the stream, with the bars among them as columns per market."""

    events: list[MarketEvent]
    bars: dict[tuple[str, str], BarColumns]
    """(venue, symbol) -> that market's bars in ``events``, as columns."""


@dataclass
class _Pending:
    """Rows of one series read ahead for :meth:`ReplaySource.blocks` and not yet handed out.

    Chunks are kept as read, with an offset into the first, so handing out a
    small block never copies the rest of a chunk.
    """

    source: Iterator[Chunk]
    parts: deque[Chunk] = field(default_factory=deque)
    offset: int = 0
    """Rows of ``parts[0]`` already handed out."""
    count: int = 0
    done: bool = False

    def fill(self, rows: int) -> None:
        while self.count < rows and not self.done:
            chunk = next(self.source, None)
            if chunk is None:
                self.done = True
            else:
                self.parts.append(chunk)
                self.count += len(chunk)

    def first_ts(self) -> int:
        return self.parts[0].ts[self.offset]

    def last_ts(self) -> int:
        return self.parts[-1].ts[-1]

    def through(self, moment: int) -> int:
        """How many pending rows have ``ts <= moment``."""
        total = 0
        start = self.offset
        for part in self.parts:
            ts = part.ts
            if ts[-1] > moment:
                return total + bisect_right(ts, moment, start) - start
            total += len(ts) - start
            start = 0
        return total

    def take(self, rows: int) -> Chunk | None:
        if rows == 0:
            return None
        taken: list[Any] = []
        left = rows
        while left:
            part = self.parts[0]
            available = len(part) - self.offset
            if available <= left:
                taken.append(part if self.offset == 0 else part.cut(self.offset, len(part)))
                self.parts.popleft()
                self.offset = 0
                left -= available
            else:
                taken.append(part.cut(self.offset, self.offset + left))
                self.offset += left
                left = 0
        self.count -= rows
        if isinstance(taken[0], BarChunk):
            return BarChunk.join(taken)
        return TradeChunk.join(taken)


class ReplaySource(DataSource[ReplayConfig]):
    """Replays CSV or Parquet files of OHLCV bars and trades in ccxt's column layout.

    Events of all files are merged by timestamp; at equal timestamps, files
    listed earlier in the config come first. Bars carry their open time, as in
    ccxt's ``fetch_ohlcv``. Files are streamed, never held (see the module
    docstring); :meth:`blocks` offers the stream with float columns.
    """

    name = "replay"
    config_model = ReplayConfig

    def __init__(self, config: ReplayConfig) -> None:
        super().__init__(config)
        self._series = _group(config)
        self._checked = False
        self._instruments: tuple[Instrument, ...] | None = None

    async def start(self) -> None:
        """Open every file and check its header, and infer increments, before any event."""
        self._instruments = self._infer_instruments()

    def _check_headers(self) -> None:
        if self._checked:
            return
        for item in self._series:
            for spec in item.files:
                columns = (
                    (OHLCV_COLUMNS, ()) if spec.kind == "ohlcv" else (TRADE_COLUMNS, TRADE_OPTIONAL)
                )
                with open_reader(spec.path, spec.file_format, *columns) as reader:
                    if not _has_rows(reader):
                        raise DataSourceError(
                            f"{spec.path}: has a header but no data rows; a replayed file "
                            "needs at least one row (was it cut short while being written?). "
                            "Fill it or remove it from the files"
                        )
        self._checked = True

    def instruments(self) -> Sequence[Instrument]:
        """One instrument per (symbol, venue), in config order.

        Increments not set in the config are the finest seen in any of the
        market's files, so every replayed price and size lies on the grid.
        """
        if self._instruments is None:
            self._instruments = self._infer_instruments()
        return self._instruments

    def _infer_instruments(self) -> tuple[Instrument, ...]:
        self._check_headers()
        grouped: dict[tuple[str, str], list[_Series]] = {}
        for item in self._series:
            grouped.setdefault((item.spec.symbol, item.spec.venue), []).append(item)
        instruments = []
        for (symbol, venue), items in grouped.items():
            specs = [spec for item in items for spec in item.files]
            tick = next((s.tick_size for s in specs if s.tick_size is not None), None)
            lot = next((s.lot_size for s in specs if s.lot_size is not None), None)
            if tick is None or lot is None:
                found = [item.precision() for item in items]
                tick = tick or Decimal(1).scaleb(min(p.finest_price for p in found))
                lot = lot or Decimal(1).scaleb(min(p.finest_size for p in found))
            instruments.append(
                Instrument(
                    symbol=symbol,
                    venue=venue,
                    kind=(
                        InstrumentKind.SPOT
                        if parse_symbol(symbol)[2] is None
                        else InstrumentKind.PERPETUAL
                    ),
                    tick_size=tick,
                    lot_size=lot,
                    min_notional=max(s.min_notional for s in specs),
                )
            )
        return tuple(instruments)

    def _events(
        self, selected: Sequence[_Series], start: datetime | None, end: datetime | None
    ) -> Iterator[MarketEvent]:
        lo, hi = _to_ms(start), _to_ms(end)
        if len(selected) == 1:
            return selected[0].stream(lo, hi)
        # heapq.merge breaks ties by argument order: the series listed first comes first.
        return heapq.merge(*(item.stream(lo, hi) for item in selected), key=_event_ts)

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for event in self._events(self._series, start, end):
            yield event

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        """Every replayed event of ``symbol`` (all venues and kinds) in ``[start, end)``."""
        selected = [item for item in self._series if item.spec.symbol == symbol]
        if not selected:
            known = sorted({item.spec.symbol for item in self._series})
            raise DataSourceError(f"replay has no data for {symbol!r}; its files hold {known}")
        return list(self._events(selected, start, end))

    def blocks(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        size: int = DEFAULT_BLOCK_EVENTS,
    ) -> Iterator[ReplayBlock]:
        """The stream over ``[start, end)`` as consecutive :class:`ReplayBlock`s of about
        ``size`` events, each with its bars as columns (see the module docstring)."""
        if size < 1:
            raise ValueError(f"block size {size} must be at least 1")
        markets: dict[tuple[str, str], str] = {}
        for item in self._series:
            spec = item.spec
            if spec.kind != "ohlcv":
                continue
            key = (spec.venue, spec.symbol)
            if key in markets:
                raise DataSourceError(
                    f"replay blocks give one column set per market, and {spec.symbol} on "
                    f"{spec.venue} has bars of {markets[key]} and {spec.timeframe}; replay one "
                    "timeframe per market or use stream()"
                )
            markets[key] = spec.timeframe or ""
        return self._blocks(_to_ms(start), _to_ms(end), size)

    def _blocks(self, lo: int | None, hi: int | None, size: int) -> Iterator[ReplayBlock]:
        pending = [_Pending(item.chunks(lo, hi)) for item in self._series]
        while True:
            for item in pending:
                item.fill(size + 1)  # one more: a full block needs no cut inside the buffer
            moment = self._cut(pending, size)
            if moment is None:
                return
            events: list[MarketEvent] = []
            bars: dict[tuple[str, str], BarColumns] = {}
            streams: list[Iterator[MarketEvent]] = []
            for series, item in zip(self._series, pending, strict=True):
                chunk = item.take(item.through(moment))
                if chunk is None:
                    continue
                streams.append(series.events(chunk))
                if isinstance(chunk, BarChunk):
                    spec = series.spec
                    bars[(spec.venue, spec.symbol)] = chunk.columns(spec.timeframe or "")
            with _collector_paused():
                if len(streams) == 1:
                    events = list(streams[0])
                else:
                    events = list(heapq.merge(*streams, key=attrgetter("ts")))
            yield ReplayBlock(events, bars)

    @staticmethod
    def _cut(pending: list[_Pending], size: int) -> int | None:
        """The last timestamp of the next block, or None when every series is exhausted.

        The latest time with at most ``size`` pending events at or before it,
        but never past what a series still being read has buffered (its next
        rows could be at that time too), and at least the earliest pending time.
        """
        while True:
            live = [item for item in pending if item.count]
            if not live:
                return None
            earliest = min(item.first_ts() for item in live)
            reading = [item for item in live if not item.done]
            if not reading:
                bound = max(item.last_ts() for item in live)
            else:
                bound = min(item.last_ts() for item in reading) - 1
                if bound < earliest:
                    # A series' buffer holds nothing but the earliest time: read further.
                    for item in reading:
                        item.fill(item.count + size)
                    continue
            break

        def through(moment: int) -> int:
            return sum(item.through(moment) for item in live)

        if through(bound) <= size:
            return bound
        if through(earliest) > size:
            return earliest
        low, high = earliest, bound  # through(low) <= size < through(high)
        while high - low > 1:
            middle = (low + high) // 2
            if through(middle) <= size:
                low = middle
            else:
                high = middle
        return low
