"""The merge of data sources at its edges: bad wiring, streams that cannot open, clocks
that run backwards, ties, and a degraded session that nobody listens to.

Each failure must end the session with one error naming the source and what it did
(or, under ``degrade``, drop that source and go on), never a traceback from inside
the merge; and the merged order must be the documented one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crypto_bot_core.engine.streams import GuardedSources, merged
from crypto_bot_core.host.fence import DataSourceFailedError, Fence
from crypto_bot_sdk import (
    Bar,
    DataSource,
    DataSourceError,
    Instrument,
    MarketEvent,
    PluginConfig,
)

T0 = datetime(2024, 2, 1, tzinfo=UTC)


def _bar(symbol: str, minute: int) -> Bar:
    return Bar(
        symbol=symbol,
        venue="alpha",
        ts=T0 + timedelta(minutes=minute),
        open=Decimal(1),
        high=Decimal(1),
        low=Decimal(1),
        close=Decimal(1),
        volume=Decimal(1),
    )


class Scripted(DataSource[PluginConfig]):
    """Yields the bars of ``symbol`` at ``minutes``, in the order given."""

    def __init__(self, name: str, symbol: str, minutes: Sequence[int]) -> None:
        super().__init__(PluginConfig())
        self.name = name
        self.symbol = symbol
        self.minutes = minutes

    def instruments(self) -> Sequence[Instrument]:
        return ()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for minute in self.minutes:
            yield _bar(self.symbol, minute)


class CannotOpen(Scripted):
    """Refuses at once: its stream() raises before returning an iterator."""

    def stream(  # type: ignore[override]
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        raise DataSourceError("the feed's credentials were revoked")


class ReturnsAList(Scripted):
    """A plugin that returns its events as a list instead of streaming them."""

    def stream(  # type: ignore[override]
        self, start: datetime | None = None, end: datetime | None = None
    ) -> Any:
        return [_bar(self.symbol, 0)]


def _drain(sources: Sequence[DataSource[Any]] | GuardedSources) -> list[tuple[str, int]]:
    async def collect() -> list[tuple[str, int]]:
        return [
            (event.symbol, int((event.ts - T0).total_seconds() // 60))
            async for event in merged(sources, None, None)  # type: ignore[arg-type]
        ]

    return asyncio.run(collect())


def test_sources_are_merged_by_time_and_at_equal_times_in_the_order_listed() -> None:
    sources = [
        Scripted("eth", "ETH/USDT", [0, 2, 2]),
        Scripted("btc", "BTC/USDT", [1, 2]),
        Scripted("quiet", "SOL/USDT", []),  # ends before its first event
    ]
    assert _drain(sources) == [
        ("ETH/USDT", 0),
        ("BTC/USDT", 1),
        ("ETH/USDT", 2),
        ("ETH/USDT", 2),
        ("BTC/USDT", 2),
    ]


def test_names_and_fences_must_match_the_sources_one_to_one() -> None:
    sources = [Scripted("a", "BTC/USDT", []), Scripted("b", "ETH/USDT", [])]
    with pytest.raises(ValueError, match="as many names") as caught:
        GuardedSources(sources, names=["a"])
    assert str(caught.value) == (
        "2 data sources need as many names and fences (got 1 names, 1 fences)"
    )


def test_an_unknown_failure_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="is not stop or degrade") as caught:
        GuardedSources([], on_failure="retry")  # type: ignore[arg-type]
    assert str(caught.value) == "on_failure 'retry' is not stop or degrade"


def test_a_source_that_cannot_open_ends_the_session_naming_it() -> None:
    sources = GuardedSources(
        [Scripted("btc", "BTC/USDT", [0]), CannotOpen("news", "ETH/USDT", [])],
        names=["btc", "news"],
        fences=[Fence("synthetic-market"), Fence("acme-news")],
    )
    with pytest.raises(DataSourceFailedError) as caught:
        _drain(sources)
    assert caught.value.source == "news"
    assert str(caught.value) == (
        "plugin acme-news: data source 'news' failed: stream() raised DataSourceError: "
        "the feed's credentials were revoked"
    )


def test_a_stream_that_is_not_an_async_iterator_is_refused_naming_what_it_returned() -> None:
    sources = GuardedSources(
        [ReturnsAList("batch", "BTC/USDT", [])], names=["batch"], fences=[Fence("acme-batch")]
    )
    with pytest.raises(DataSourceFailedError) as caught:
        _drain(sources)
    assert caught.value.plugin == "acme-batch"
    assert caught.value.reason == (
        "data source 'batch' failed: stream() returned list, not an async iterator"
    )


def test_a_stream_that_goes_back_in_time_is_refused_with_both_times() -> None:
    sources = GuardedSources(
        [Scripted("btc", "BTC/USDT", [0, 5, 3])], names=["btc"], fences=[Fence("acme")]
    )
    seen: list[tuple[str, int]] = []

    async def collect() -> None:
        async for event in merged(sources, None, None):
            seen.append((event.symbol, int((event.ts - T0).total_seconds() // 60)))

    with pytest.raises(DataSourceFailedError) as caught:
        asyncio.run(collect())
    assert seen == [("BTC/USDT", 0), ("BTC/USDT", 5)]  # the event out of order never left
    assert caught.value.reason == (
        "data source 'btc' failed: its stream went back in time: "
        "2024-02-01T00:03:00+00:00 after 2024-02-01T00:05:00+00:00; "
        "a stream's timestamps must not decrease"
    )


def test_degrade_without_a_listener_still_drops_the_source_and_goes_on() -> None:
    sources = GuardedSources(
        [
            Scripted("btc", "BTC/USDT", [0, 1, 2]),
            CannotOpen("news", "ETH/USDT", []),
            ReturnsAList("batch", "SOL/USDT", []),
        ],
        names=["btc", "news", "batch"],
        fences=[Fence("synthetic-market"), Fence("acme-news"), Fence("acme-batch")],
        on_failure="degrade",
    )
    assert _drain(sources) == [("BTC/USDT", 0), ("BTC/USDT", 1), ("BTC/USDT", 2)]
