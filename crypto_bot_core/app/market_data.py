"""Market data for risk reports outside a run: bars from configured data sources, a static view.

``cryptobot risk`` needs returns for VaR and, for some scenarios, books and
prices. They come from the data sources of a config file (a replay of
recorded files, the synthetic market, any data-source plugin), resolved
through the host like any run's, or -- when none is given -- from the
``synthetic-market`` plugin asked for daily bars of the portfolio's symbols.
:class:`StaticMarket` is the read-only view the CLI hands to the analytics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.config import resolve_instances
from crypto_bot_sdk import (
    Bar,
    DataSource,
    Instrument,
    MarketEvent,
    MetricPoint,
    OrderBook,
    PluginKind,
    RiskError,
    parse_symbol,
)

if TYPE_CHECKING:
    from crypto_bot_core.config import LoadedConfig
    from crypto_bot_core.host import Host

SYNTHETIC_PLUGIN = "synthetic-market"
SYNTHETIC_BARS = 500


class StaticMarket:
    """A :class:`~crypto_bot_sdk.MarketView` over fixed data: bars, last prices, books."""

    def __init__(
        self,
        now: datetime,
        *,
        bars: Iterable[Bar] = (),
        prices: Mapping[str, Decimal] | None = None,
        books: Iterable[OrderBook] = (),
        instruments: Sequence[Instrument] = (),
    ) -> None:
        self._now = now
        self._bars: dict[str, list[Bar]] = {}
        for bar in bars:
            series = self._bars.setdefault(bar.symbol, [])
            if not series or series[0].venue == bar.venue:
                series.append(bar)
        self._prices = dict(prices or {})
        for symbol, series in self._bars.items():
            self._prices.setdefault(symbol, series[-1].close)
        self._books = {(b.symbol, b.venue): b for b in books}
        self._instruments = tuple(instruments)

    @property
    def now(self) -> datetime:
        return self._now

    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    def bars(
        self, symbol: str, venue: str | None = None, limit: int | None = None
    ) -> Sequence[Bar]:
        series = self._bars.get(symbol, [])
        if venue is not None and series and series[0].venue != venue:
            return ()
        return tuple(series if limit is None else series[-limit:])

    def last_price(self, symbol: str, venue: str | None = None) -> Decimal | None:
        if venue is not None and (book := self._books.get((symbol, venue))) is not None:
            return book.mid
        return self._prices.get(symbol)

    def order_book(self, symbol: str, venue: str) -> OrderBook | None:
        return self._books.get((symbol, venue))

    def metrics(
        self, name: str, symbol: str | None = None, limit: int | None = None
    ) -> Sequence[MetricPoint]:
        return ()


async def _drain(sources: Sequence[DataSource[Any]], symbols: set[str] | None) -> list[Bar]:
    bars: list[Bar] = []
    for source in sources:
        await source.start()
        try:
            event: MarketEvent
            async for event in source.stream():
                if isinstance(event, Bar) and (symbols is None or event.symbol in symbols):
                    bars.append(event)
        finally:
            await source.close()
    return bars


def bars_from_config(
    loaded: LoadedConfig, host: Host, symbols: Iterable[str] | None = None
) -> list[Bar]:
    """Every bar the config's data sources emit (of ``symbols`` if given), in stream order."""
    resolved = resolve_instances(loaded, host, require_run_parts=False)
    sources = [i.instance for i in resolved.section("data_sources")]
    if not sources:
        raise RiskError(f"{loaded.source} configures no data_sources to read returns from")
    wanted = set(symbols) if symbols is not None else None
    return asyncio.run(_drain([s for s in sources if isinstance(s, DataSource)], wanted))


def synthetic_bars(
    host: Host,
    symbols: Sequence[str],
    prices: Mapping[str, Decimal],
    *,
    seed: int = 0,
    bars: int = SYNTHETIC_BARS,
) -> list[Bar]:
    """Daily bars of ``symbols`` from the synthetic-market plugin, priced near ``prices``."""
    info = host.resolve(PluginKind.DATASOURCE, SYNTHETIC_PLUGIN)
    initial: dict[str, str] = {}
    for symbol, price in prices.items():
        base, quote, _ = parse_symbol(symbol)
        initial.setdefault(f"{base}/{quote}", str(price))
    source = info.cls.from_config(
        {
            "symbols": list(symbols),
            "venues": ["synthetic"],
            "timeframe": "1d",
            "bars": bars,
            "seed": seed,
            "initial_prices": initial,
        }
    )
    if not isinstance(source, DataSource):
        raise RiskError(f"{SYNTHETIC_PLUGIN} did not give a data source")
    return asyncio.run(_drain([source], set(symbols)))
