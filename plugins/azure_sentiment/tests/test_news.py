"""The ``news`` data source: mention counts per symbol and bucket, stamped at the bucket's end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import cryptobot_azure_sentiment
from crypto_bot_sdk import DataSourceError, Manifest, MetricPoint
from crypto_bot_sdk.testing import ComponentFactory, DataSourceConformance, StreamWindow
from cryptobot_azure_sentiment import MENTIONS, NewsMentionsSource
from cryptobot_azure_sentiment.testing import FakeFeeds, rss

from .support import HEADLINES, NOW, run

HOUR = timedelta(hours=1)


def _source(served: FakeFeeds, clock: Any = None, **config: Any) -> NewsMentionsSource:
    settings = {"feeds": [f"{served.url}/news.xml"], "symbols": ["BTC/USDT", "ETH/USDT"],
                "live": False} | config  # fmt: skip
    source = NewsMentionsSource.from_config(settings)
    return NewsMentionsSource(source.config, clock=clock or (lambda: NOW + 2 * HOUR))


def _read(source: NewsMentionsSource, start: datetime | None = None,
          end: datetime | None = None, limit: int = 100) -> list[MetricPoint]:  # fmt: skip
    async def scenario() -> list[MetricPoint]:
        await source.start()
        points: list[MetricPoint] = []
        stream = source.stream(start, end)
        try:
            async for point in stream:
                assert isinstance(point, MetricPoint)
                points.append(point)
                if len(points) >= limit:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await source.close()
        return points

    return run(scenario)


def _counts(points: list[MetricPoint]) -> list[tuple[datetime, str | None, float]]:
    return [(p.ts, p.symbol, p.value) for p in points]


def test_counts_per_bucket_stamped_at_the_bucket_end(feeds: FakeFeeds) -> None:
    points = _read(_source(feeds))
    # BTC headlines at -30h, -6h, -3h, -1h and +1h; ETH at -2h; buckets of one hour
    assert _counts(points) == [
        (NOW - 29 * HOUR, "BTC/USDT", 1.0),
        (NOW - 5 * HOUR, "BTC/USDT", 1.0),
        (NOW - 2 * HOUR, "BTC/USDT", 1.0),
        (NOW - HOUR, "ETH/USDT", 1.0),
        (NOW, "BTC/USDT", 1.0),
        (NOW + 2 * HOUR, "BTC/USDT", 1.0),
    ]
    assert {(p.name, p.unit, p.source) for p in points} == {(MENTIONS, "headlines", "news")}


def test_buckets_not_yet_closed_are_not_emitted(feeds: FakeFeeds) -> None:
    points = _read(_source(feeds, clock=lambda: NOW))
    assert max(p.ts for p in points) == NOW


def test_wider_buckets_add_up(feeds: FakeFeeds) -> None:
    def at(now: datetime) -> NewsMentionsSource:
        return _source(feeds, clock=lambda: now, bucket_minutes=1440, symbols=["BTC/USDT"])

    assert _counts(_read(at(NOW + 2 * HOUR))) == [(NOW - 12 * HOUR, "BTC/USDT", 1.0)]
    assert _counts(_read(at(NOW + 12 * HOUR))) == [
        (NOW - 12 * HOUR, "BTC/USDT", 1.0), (NOW + 12 * HOUR, "BTC/USDT", 4.0),
    ]  # fmt: skip


def test_live_mode_emits_each_bucket_as_it_closes(feeds: FakeFeeds) -> None:
    times = iter([NOW - HOUR + timedelta(minutes=30), NOW, NOW, NOW + HOUR, NOW + HOUR])
    source = _source(feeds, clock=lambda: next(times), live=True, symbols=["BTC/USDT"])
    points = _read(source, end=NOW + HOUR)
    assert _counts(points)[-2:] == [(NOW - 2 * HOUR, "BTC/USDT", 1.0), (NOW, "BTC/USDT", 1.0)]


def test_no_readable_feed_is_a_data_source_error(feeds: FakeFeeds) -> None:
    source = _source(feeds, feeds=[f"{feeds.url}/gone.xml"])
    with pytest.raises(DataSourceError, match=r"no feed could be read \(.*gone.xml: HTTP 404"):
        _read(source)


class TestNewsConformance(DataSourceConformance):
    @pytest.fixture
    def served(self) -> Iterator[FakeFeeds]:
        fake = FakeFeeds().start()
        fake.serve("/news.xml", rss(HEADLINES))
        try:
            yield fake
        finally:
            fake.stop()

    @pytest.fixture
    def manifest(self) -> Manifest:
        path = Path(cryptobot_azure_sentiment.__file__).with_name("manifest.json")
        return Manifest.from_path(path)

    @pytest.fixture
    def component_factory(self, served: FakeFeeds) -> ComponentFactory:
        return lambda: _source(served)

    @pytest.fixture
    def stream_window(self) -> StreamWindow:
        return (NOW - 48 * HOUR, NOW + 2 * HOUR)
