"""The ``news`` data source: how many headlines mention each symbol, per time bucket.

The SDK's market events have no type for a piece of text, so this source
does not push headlines through the engine (the sentiment agent reads them
with its own reader). What it emits is the news *volume*, a number any agent
or risk rule can use: ``MetricPoint(name="news.mentions", symbol=...,
value=<headlines>)`` per bucket of ``bucket_minutes``. A bucket
``[E - width, E)`` is stamped with its end ``E``, the first moment its count
is known, so a backtest never sees a count before the bucket has closed.
Buckets without a mention emit nothing.

``stream(start, end)`` replays the buckets the feeds still hold, up to now;
in live mode it then emits each bucket as it closes, until ``end`` or close.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from crypto_bot_sdk import DataSource, DataSourceError, Instrument, MarketEvent, MetricPoint
from cryptobot_azure_sentiment.config import NewsSourceConfig
from cryptobot_azure_sentiment.feeds import FeedReader, Headline, mentioning

MENTIONS = "news.mentions"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NewsMentionsSource(DataSource[NewsSourceConfig]):
    """See the module doc. ``transport`` and ``clock`` exist for tests and embedding."""

    name = "news"
    config_model = NewsSourceConfig

    def __init__(
        self,
        config: NewsSourceConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(config)
        self._transport = transport
        self._now = clock or (lambda: datetime.now(UTC))
        self._width = timedelta(minutes=config.bucket_minutes)
        self._reader: FeedReader | None = None
        self._closed = asyncio.Event()

    def _get_reader(self) -> FeedReader:
        if self._reader is None:
            self._reader = FeedReader(
                self.config.feeds,
                refresh=self.config.feed_refresh,
                timeout=self.config.feed_timeout,
                transport=self._transport,
            )
        return self._reader

    async def start(self) -> None:
        self._closed.clear()
        self._get_reader()

    async def close(self) -> None:
        self._closed.set()
        if self._reader is not None:
            await self._reader.aclose()
            self._reader = None

    def instruments(self) -> Sequence[Instrument]:
        """None: mention counts are about symbols, not markets this source trades."""
        return ()

    def bucket_end(self, ts: datetime) -> datetime:
        """The end of the bucket holding ``ts``."""
        buckets = (ts - _EPOCH) // self._width
        return _EPOCH + (buckets + 1) * self._width

    async def _headlines(self) -> list[Headline]:
        reader = self._get_reader()
        headlines = await reader.headlines()
        if not reader.any_fetched():
            failures = "; ".join(f"{feed}: {why}" for feed, why in reader.errors().items())
            raise DataSourceError(f"news source: no feed could be read ({failures})")
        return headlines

    def _points(
        self, headlines: list[Headline], keep: Callable[[datetime], bool]
    ) -> list[MetricPoint]:
        points = []
        for symbol in self.config.symbols:
            about = mentioning(headlines, self.config.words_for(symbol))
            counts = Counter(self.bucket_end(h.published) for h in about)
            points += [
                MetricPoint(
                    name=MENTIONS,
                    ts=end,
                    value=float(count),
                    unit="headlines",
                    source=self.config.source,
                    symbol=symbol,
                    labels={"bucket_minutes": str(self.config.bucket_minutes)},
                )
                for end, count in counts.items()
                if keep(end)
            ]
        points.sort(key=lambda p: (p.ts, p.symbol or ""))
        return points

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        now = self._now()
        points = self._points(await self._headlines(), lambda e: start <= e < end and e <= now)
        return [p for p in points if p.symbol == symbol]

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        now = self._now()

        def in_window(bucket: datetime) -> bool:
            return (start is None or bucket >= start) and (end is None or bucket < end)

        for point in self._points(await self._headlines(), lambda e: e <= now and in_window(e)):
            yield point
        if not self.config.live:
            return
        closing = self.bucket_end(now)
        while not self._closed.is_set() and (end is None or closing < end):
            wait = (closing - self._now()).total_seconds()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closed.wait(), wait)
                continue
            if start is None or closing >= start:
                headlines = await self._headlines()
                for point in self._points(headlines, closing.__eq__):
                    yield point
            closing += self._width
