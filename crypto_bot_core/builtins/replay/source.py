"""The ``replay`` data source: recorded OHLCV bars and trades, validated, merged in time order.

All files are read and checked once, on :meth:`ReplaySource.start` or first
use, so a broken file stops the run before the first event rather than
halfway through a backtest. Streaming then only turns checked records into
events.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from crypto_bot_core.builtins.replay.config import ReplayConfig, ReplayFile, timeframe_ms
from crypto_bot_core.builtins.replay.reading import read_rows
from crypto_bot_core.builtins.replay.validation import (
    EPOCH,
    MS,
    OHLCV_COLUMNS,
    TRADE_COLUMNS,
    TRADE_OPTIONAL,
    OhlcvChecker,
    SeriesChecker,
    TradeChecker,
)
from crypto_bot_sdk import (
    Bar,
    DataSource,
    DataSourceError,
    Instrument,
    InstrumentKind,
    MarketEvent,
    Side,
    Trade,
    parse_symbol,
)


@dataclass
class _Series:
    """One market's checked records, oldest first, from one or more files."""

    spec: ReplayFile  # the first file of the series: symbol, venue, kind, grid overrides
    records: list[tuple[Any, ...]]
    timestamps: list[int]
    checker: SeriesChecker

    def event(self, record: tuple[Any, ...]) -> MarketEvent:
        ts = EPOCH + record[0] * MS
        spec = self.spec
        # Every field was checked when the file was read (see validation.py).
        if spec.kind == "ohlcv":
            return Bar.model_construct(
                symbol=spec.symbol,
                venue=spec.venue,
                ts=ts,
                kind="bar",
                timeframe=spec.timeframe or "",  # always set for OHLCV files
                open=record[1],
                high=record[2],
                low=record[3],
                close=record[4],
                volume=record[5],
            )
        return Trade.model_construct(
            symbol=spec.symbol,
            venue=spec.venue,
            ts=ts,
            kind="trade",
            trade_id=record[1],
            side=Side(record[2]),
            price=record[3],
            amount=record[4],
        )


def _load(config: ReplayConfig) -> list[_Series]:
    series: dict[tuple[str, str, str, str], _Series] = {}
    for spec in config.files:
        current = series.get(spec.series_key)
        if current is None:
            checker: SeriesChecker
            if spec.kind == "ohlcv":
                assert spec.timeframe is not None  # required by ReplayFile's validator
                checker = OhlcvChecker(
                    interval_ms=timeframe_ms(spec.timeframe),
                    timeframe=spec.timeframe,
                    allow_gaps=config.allow_gaps,
                )
            else:
                checker = TradeChecker(symbol=spec.symbol)
            current = _Series(spec, [], [], checker)
            series[spec.series_key] = current
        checker = current.checker
        checker.start_file(spec.path)
        if isinstance(checker, OhlcvChecker):
            rows = read_rows(spec.path, spec.file_format, OHLCV_COLUMNS)
        else:
            rows = read_rows(spec.path, spec.file_format, TRADE_COLUMNS, TRADE_OPTIONAL)
        for position, values in rows:
            record = checker.check(position, values)
            current.records.append(record)
            current.timestamps.append(record[0])
    return list(series.values())


class ReplaySource(DataSource[ReplayConfig]):
    """Replays CSV or Parquet files of OHLCV bars and trades in ccxt's column layout.

    Events of all files are merged by timestamp; at equal timestamps, files
    listed earlier in the config come first. Bars carry their open time, as in
    ccxt's ``fetch_ohlcv``.
    """

    name = "replay"
    config_model = ReplayConfig

    def __init__(self, config: ReplayConfig) -> None:
        super().__init__(config)
        self._series: list[_Series] | None = None

    async def start(self) -> None:
        self._loaded()

    def _loaded(self) -> list[_Series]:
        if self._series is None:
            self._series = _load(self.config)
        return self._series

    def instruments(self) -> Sequence[Instrument]:
        """One instrument per (symbol, venue), in config order.

        Increments not set in the config are the finest seen in any of the
        market's files, so every replayed price and size lies on the grid.
        """
        grouped: dict[tuple[str, str], list[_Series]] = {}
        for item in self._loaded():
            grouped.setdefault((item.spec.symbol, item.spec.venue), []).append(item)
        instruments = []
        for (symbol, venue), items in grouped.items():
            specs = [item.spec for item in items]
            tick = next((s.tick_size for s in specs if s.tick_size is not None), None)
            lot = next((s.lot_size for s in specs if s.lot_size is not None), None)
            finest_price = min(item.checker.finest_price for item in items)
            finest_size = min(item.checker.finest_size for item in items)
            instruments.append(
                Instrument(
                    symbol=symbol,
                    venue=venue,
                    kind=(
                        InstrumentKind.SPOT
                        if parse_symbol(symbol)[2] is None
                        else InstrumentKind.PERPETUAL
                    ),
                    tick_size=tick or Decimal(1).scaleb(finest_price),
                    lot_size=lot or Decimal(1).scaleb(finest_size),
                    min_notional=max(s.min_notional for s in specs),
                )
            )
        return tuple(instruments)

    def _events(
        self, selected: Sequence[_Series], start: datetime | None, end: datetime | None
    ) -> Iterator[MarketEvent]:
        lo = None if start is None else -((EPOCH - start) // MS)  # ceil: first ms >= start
        hi = None if end is None else -((EPOCH - end) // MS)

        def ranged(index: int, item: _Series) -> Iterator[tuple[int, int, tuple[Any, ...]]]:
            first = 0 if lo is None else bisect_left(item.timestamps, lo)
            stop = len(item.records) if hi is None else bisect_left(item.timestamps, hi)
            for position in range(first, stop):
                record = item.records[position]
                yield record[0], index, record

        merged = heapq.merge(
            *(ranged(i, item) for i, item in enumerate(selected)), key=lambda e: (e[0], e[1])
        )
        for _ts, index, record in merged:
            yield selected[index].event(record)

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for event in self._events(self._loaded(), start, end):
            yield event

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        """Every replayed event of ``symbol`` (all venues and kinds) in ``[start, end)``."""
        loaded = self._loaded()
        selected = [item for item in loaded if item.spec.symbol == symbol]
        if not selected:
            known = sorted({item.spec.symbol for item in loaded})
            raise DataSourceError(f"replay has no data for {symbol!r}; its files hold {known}")
        return list(self._events(selected, start, end))
