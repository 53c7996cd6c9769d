"""The ``synthetic`` data source: a seeded market generated up front, then streamed bar by bar.

Paths are generated once per instance, on :meth:`start` or first use, by the
vectorised model in :mod:`.paths`; streaming only turns integers into bars.
A backtest engine that wants no per-bar objects at all can read the same
numbers as numpy arrays through :meth:`SyntheticMarket.arrays`.

With ``pace: wall_clock`` the market lives in real time instead, for paper
trading that runs until it is stopped (the Helm chart's engine): the first bar
opens at the start of the current interval (or at ``start`` when given) and
each bar is emitted once its interval has ended on the wall clock. Without
``bars`` or ``end`` it never ends. It is generated in segments of
:data:`SEGMENT_BARS` bars, each seeded from the config's seed and the
segment's index and starting at the previous segment's closing prices, so
memory stays bounded however long the run; the first segment is exactly the
unpaced market of the same config.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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
SEGMENT_BARS = 1440
"""Bars generated at a time by a wall-clock market (a day of one-minute bars)."""
_SEGMENTS_KEPT = 2  # a stream needs its current segment; history may look one back
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
        self._anchor: datetime | None = None
        self._segments: dict[int, SyntheticMarket] = {}
        self._closing: dict[int, dict[str, Decimal]] = {}
        # The wall clock and the wait, replaceable so a test can run a day in a second.
        self.wall_now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep

    @property
    def paced(self) -> bool:
        return self.config.pace == "wall_clock"

    async def start(self) -> None:
        if self.paced:
            self._segment(0)
        else:
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
        if self.paced:
            async for event in self._paced_stream(start, end):
                yield event
            return
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
        """Bars of ``symbol`` on every venue with open time in ``[start, end)``.

        A wall-clock market has history only for the bars whose time has passed.
        """
        if symbol not in self.config.symbols:
            raise DataSourceError(
                f"synthetic market has no symbol {symbol!r}; it generates "
                f"{list(self.config.symbols)}"
            )
        if self.paced:
            return await self._paced_history(symbol, start, end)
        keys = [(symbol, venue) for venue in self.config.venues]
        return list(self._bars(self._index(start, 0), self._index(end, 0), keys))

    # --- wall-clock pacing -------------------------------------------------------

    def _anchor_time(self) -> datetime:
        """Open time of the first bar: ``start`` if given, else the current interval's."""
        if self._anchor is None:
            if "start" in self.config.model_fields_set:
                self._anchor = self.config.start
            else:
                step = self.config.bar_seconds
                now = int(self.wall_now().timestamp())
                self._anchor = datetime.fromtimestamp(now // step * step, UTC)
        return self._anchor

    def _paced_index(self, moment: datetime | None, default: int | None) -> int | None:
        if moment is None:
            return default
        steps = math.ceil((moment - self._anchor_time()) / self._bar_delta)
        return max(steps, 0)

    def _total_bars(self) -> int | None:
        """Bars of the whole paced market; None for one without end."""
        cfg = self.config
        if cfg.bars is not None:
            return cfg.bars
        if cfg.end is None:
            return None
        return max(0, math.ceil((cfg.end - self._anchor_time()) / self._bar_delta))

    def _segment_seed(self, index: int) -> int:
        if index == 0:
            return self.config.seed
        digest = hashlib.sha256(f"synthetic-segment:{self.config.seed}:{index}".encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 1

    def _segment(self, index: int) -> SyntheticMarket:
        """The unpaced market of segment ``index``, built from its predecessor's closes."""
        cached = self._segments.get(index)
        if cached is not None:
            return cached
        cfg = self.config
        # Each segment starts at the previous one's closing prices: build forward from
        # the last segment whose closes are known (a stream asks for them in order).
        known = max((i for i in self._closing if i < index), default=-1)
        market = self
        total = self._total_bars()
        for current in range(known + 1, index + 1):
            left = SEGMENT_BARS if total is None else total - current * SEGMENT_BARS
            count = min(SEGMENT_BARS, left)
            data = cfg.model_dump()
            data.update(
                pace="none",
                start=self._anchor_time() + current * SEGMENT_BARS * self._bar_delta,
                bars=max(count, 1),
                end=None,
                seed=self._segment_seed(current),
                # Increments are the configured market's: an instrument never changes.
                tick_sizes={s: cfg.tick_size(s) for s in cfg.symbols},
                lot_sizes={s: cfg.lot_size(s) for s in cfg.symbols},
            )
            if current > 0:
                data["initial_prices"] = self._closing[current - 1]
            market = SyntheticMarket(SyntheticMarketConfig.model_validate(data))
            self._closing[current] = market._closing_prices()
            self._segments[current] = market
            for old in [i for i in self._segments if i <= current - _SEGMENTS_KEPT]:
                del self._segments[old]
        return market

    def _closing_prices(self) -> dict[str, Decimal]:
        """Each pair's last mid, as the next segment's ``initial_prices``."""
        paths = self._generated()
        venue = self.config.venues[0]
        found: dict[str, Decimal] = {}
        for symbol in sorted(self.config.symbols, key=lambda s: parse_symbol(s)[2] is not None):
            pair = f"{parse_symbol(symbol)[0]}/{parse_symbol(symbol)[1]}"
            if pair in found:
                continue
            series = paths.series[(symbol, venue)]
            close = Decimal(int(series.close[-1])).scaleb(series.price_exponent)
            basis = paths.basis.get(symbol)
            if basis is not None:  # a perpetual trades at the mid plus its basis
                close = close / Decimal(math.exp(float(basis[-1])))
            found[pair] = close
        return found

    async def _until(self, moment: datetime) -> None:
        """Wait until the wall clock reaches ``moment``."""
        while True:
            left = (moment - self.wall_now()).total_seconds()
            if left <= 0:
                return
            await self.sleep(left)

    async def _paced_stream(
        self, start: datetime | None, end: datetime | None
    ) -> AsyncIterator[MarketEvent]:
        total = self._total_bars()
        first = self._paced_index(start, 0) or 0
        stop = self._paced_index(end, total)
        if total is not None and stop is not None:
            stop = min(stop, total)
        anchor = self._anchor_time()
        index = first
        while stop is None or index < stop:
            segment = index // SEGMENT_BARS
            segment_end = (segment + 1) * SEGMENT_BARS
            upto = segment_end if stop is None else min(segment_end, stop)
            market = self._segment(segment)
            async for event in market.stream(
                anchor + index * self._bar_delta, anchor + upto * self._bar_delta
            ):
                if isinstance(event, Bar):
                    await self._until(event.ts + self._bar_delta)  # the bar has closed
                yield event
            index = upto

    async def _paced_history(
        self, symbol: str, start: datetime, end: datetime
    ) -> Sequence[MarketEvent]:
        closed = math.floor((self.wall_now() - self._anchor_time()) / self._bar_delta)
        total = self._total_bars()
        lo = self._paced_index(start, 0) or 0
        hi = min(self._paced_index(end, 0) or 0, closed, *(() if total is None else (total,)))
        anchor = self._anchor_time()
        found: list[MarketEvent] = []
        index = lo
        while index < hi:
            segment = index // SEGMENT_BARS
            upto = min((segment + 1) * SEGMENT_BARS, hi)
            found.extend(
                await self._segment(segment).history(
                    symbol, anchor + index * self._bar_delta, anchor + upto * self._bar_delta
                )
            )
            index = upto
        return found

    def arrays(self, symbol: str, venue: str) -> dict[str, NDArray[np.float64] | NDArray[np.int64]]:
        """Fast path for backtests: one market's bars as numpy arrays, no per-bar objects.

        Keys: ``ts`` (int64, bar open time in ms since the epoch), ``open``,
        ``high``, ``low``, ``close``, ``volume`` (float64). Each float is the
        correctly rounded value of the decimal in the matching streamed
        :class:`Bar`, so ``Decimal(repr(x))`` gives that decimal back exactly.
        The arrays are fresh copies; the caller may modify them.
        """
        from crypto_bot_core.builtins.synthetic_market.paths import as_float

        self._refuse_when_paced("arrays()")
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

        self._refuse_when_paced("regimes()")
        return [REGIME_NAMES[code] for code in self._generated().regimes.tolist()]

    def _refuse_when_paced(self, what: str) -> None:
        if self.paced:
            raise DataSourceError(
                f"synthetic market: {what} reads a market generated up front; with pace "
                "'wall_clock' bars exist only once their time has come (use stream() or "
                "history())"
            )
