"""The ``synthetic`` data source: a seeded market generated up front, then streamed bar by bar.

Paths are generated once per instance, on :meth:`start` or first use, by the
vectorised model in :mod:`.paths`; streaming only turns integers into bars.
A backtest engine that wants no per-bar objects at all can read the same
numbers as numpy arrays through :meth:`SyntheticMarket.arrays`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from crypto_bot_core.builtins.synthetic_market.config import (
    SyntheticMarketConfig,
    timeframe_seconds,
)
from crypto_bot_core.support.trusted import maker
from crypto_bot_sdk import (
    Bar,
    DataSource,
    DataSourceError,
    Instrument,
    InstrumentKind,
    MarketEvent,
    MetricPoint,
    parse_symbol,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from crypto_bot_core.builtins.synthetic_market.paths import MarketPaths

FUNDING_METRIC = "funding_rate"
_FUNDING_CAP = 0.0075
_CHUNK = 4096  # timestamps converted to Python numbers at a time: bounds memory while streaming


class SyntheticMarket(DataSource[SyntheticMarketConfig]):
    """Deterministic OHLCV bars for every configured symbol on every configured venue.

    For each timestamp the bars come symbol by symbol in config order and, within
    a symbol, venue by venue in config order; the same config gives the same bars.
    """

    name = "synthetic"
    config_model = SyntheticMarketConfig

    def __init__(self, config: SyntheticMarketConfig) -> None:
        super().__init__(config)
        self._paths: MarketPaths | None = None
        self._bar_delta = timedelta(seconds=config.bar_seconds)

    async def start(self) -> None:
        self._generated()

    def _generated(self) -> MarketPaths:
        if self._paths is None:
            from crypto_bot_core.builtins.synthetic_market.paths import generate

            self._paths = generate(self.config)
        return self._paths

    def instruments(self) -> Sequence[Instrument]:
        cfg = self.config
        return tuple(
            Instrument(
                symbol=symbol,
                venue=venue,
                kind=(
                    InstrumentKind.SPOT
                    if parse_symbol(symbol)[2] is None
                    else InstrumentKind.PERPETUAL
                ),
                tick_size=cfg.tick_size(symbol),
                lot_size=cfg.lot_size(symbol),
                min_notional=cfg.min_notional,
            )
            for symbol in cfg.symbols
            for venue in cfg.venues
        )

    def _index(self, moment: datetime | None, default: int) -> int:
        if moment is None:
            return default
        steps = math.ceil((moment - self.config.start) / self._bar_delta)
        return min(max(steps, 0), self.config.bar_count)

    def _bars(self, first: int, stop: int, keys: Sequence[tuple[str, str]]) -> Iterator[Bar]:
        paths = self._generated()
        timeframe = self.config.timeframe
        make = maker(Bar)
        for chunk_start in range(first, stop, _CHUNK):
            chunk_stop = min(stop, chunk_start + _CHUNK)
            columns = []
            for symbol, venue in keys:
                s = paths.series[(symbol, venue)]
                window = slice(chunk_start, chunk_stop)
                columns.append(
                    (
                        symbol,
                        venue,
                        s.price_exponent,
                        s.volume_exponent,
                        s.open[window].tolist(),
                        s.high[window].tolist(),
                        s.low[window].tolist(),
                        s.close[window].tolist(),
                        s.volume[window].tolist(),
                    )
                )
            for offset in range(chunk_stop - chunk_start):
                ts = self.config.start + (chunk_start + offset) * self._bar_delta
                for symbol, venue, pe, ve, o, h, lo, c, v in columns:
                    # Valid by construction (ticks >= 1, low <= open/close <= high), and a
                    # million validations would cost seconds; the tests validate every field.
                    yield make(
                        {
                            "symbol": symbol,
                            "venue": venue,
                            "ts": ts,
                            "kind": "bar",
                            "timeframe": timeframe,
                            "open": Decimal(o[offset]).scaleb(pe),
                            "high": Decimal(h[offset]).scaleb(pe),
                            "low": Decimal(lo[offset]).scaleb(pe),
                            "close": Decimal(c[offset]).scaleb(pe),
                            "volume": Decimal(v[offset]).scaleb(ve),
                        }
                    )

    def _keys(self) -> list[tuple[str, str]]:
        return [(s, v) for s in self.config.symbols for v in self.config.venues]

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        first = self._index(start, 0)
        stop = self._index(end, self.config.bar_count)
        if self.emits_only_bars:
            for bar in self._bars(first, stop, self._keys()):
                yield bar
            return
        # Funding rates follow the bars of their timestamp, so a rate is charged on the
        # positions held at that instant, after the bar's prices are known.
        last: datetime | None = None
        for bar in self._bars(first, stop, self._keys()):
            if last is not None and bar.ts != last:
                for point in self._funding_at(last):
                    yield point
            last = bar.ts
            yield bar
        if last is not None:
            for point in self._funding_at(last):
                yield point

    @property
    def emits_only_bars(self) -> bool:
        """False when funding rates are interleaved: a columnar reader would miss them."""
        return self.config.funding_interval is None or not any(
            parse_symbol(s)[2] for s in self.config.symbols
        )

    def _funding_at(self, ts: datetime) -> Iterator[MetricPoint]:
        """Each perpetual's funding rate on every venue, if ``ts`` is a funding time.

        The rate is the perpetual's premium over the mid at that instant, clamped to
        +/-0.75% per interval and rounded to 8 decimals as venues publish it; a
        positive rate makes longs pay shorts.
        """
        interval = self.config.funding_interval
        assert interval is not None
        if int(ts.timestamp()) % timeframe_seconds(interval):
            return
        paths = self._generated()
        index = round((ts - self.config.start) / self._bar_delta)
        for symbol, basis in paths.basis.items():
            rate = round(max(-_FUNDING_CAP, min(_FUNDING_CAP, float(basis[index]))), 8)
            for venue in self.config.venues:
                yield MetricPoint(
                    name=FUNDING_METRIC,
                    ts=ts,
                    value=rate,
                    unit="fraction per interval",
                    source="synthetic-market",
                    symbol=symbol,
                    labels={"venue": venue, "interval": interval},
                )

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        """Bars of ``symbol`` on every venue with open time in ``[start, end)``."""
        if symbol not in self.config.symbols:
            raise DataSourceError(
                f"synthetic market has no symbol {symbol!r}; it generates "
                f"{list(self.config.symbols)}"
            )
        keys = [(symbol, venue) for venue in self.config.venues]
        return list(self._bars(self._index(start, 0), self._index(end, 0), keys))

    def arrays(self, symbol: str, venue: str) -> dict[str, NDArray[np.float64] | NDArray[np.int64]]:
        """Fast path for backtests: one market's bars as numpy arrays, no per-bar objects.

        Keys: ``ts`` (int64, bar open time in ms since the epoch), ``open``,
        ``high``, ``low``, ``close``, ``volume`` (float64). Each float is the
        correctly rounded value of the decimal in the matching streamed
        :class:`Bar`, so ``Decimal(repr(x))`` gives that decimal back exactly.
        The arrays are fresh copies; the caller may modify them.
        """
        from crypto_bot_core.builtins.synthetic_market.paths import as_float

        paths = self._generated()
        series = paths.series.get((symbol, venue))
        if series is None:
            raise DataSourceError(
                f"synthetic market has no {symbol!r} on {venue!r}; symbols "
                f"{list(self.config.symbols)}, venues {list(self.config.venues)}"
            )
        pe = series.price_exponent
        return {
            "ts": paths.ts_ms.copy(),
            "open": as_float(series.open, pe),
            "high": as_float(series.high, pe),
            "low": as_float(series.low, pe),
            "close": as_float(series.close, pe),
            "volume": as_float(series.volume, series.volume_exponent),
        }

    def regimes(self) -> list[str]:
        """Each bar's market regime: ``range``, ``trend_up``, ``trend_down`` or ``high_vol``."""
        from crypto_bot_core.builtins.synthetic_market.paths import REGIME_NAMES

        return [REGIME_NAMES[code] for code in self._generated().regimes.tolist()]
