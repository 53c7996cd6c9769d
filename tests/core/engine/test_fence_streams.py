"""Data sources behind the fence: a failing stream is named; it ends the session or is dropped.

``data_source_failure: stop`` ends the run with :class:`DataSourceFailedError`
(a ``CryptoBotError``: the CLI prints one line and exits non-zero, no
traceback); ``degrade`` drops the source, records an alert and goes on with
the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pytest
from fence_parts import Momentum, build_engine, market, memory_records, run

from crypto_bot_core.engine.streams import GuardedSources, degraded_record, merged
from crypto_bot_core.host.fence import DataSourceFailedError, Fence, PluginTimeoutError
from crypto_bot_sdk import (
    CryptoBotError,
    DataSource,
    DataSourceError,
    Instrument,
    MarketEvent,
    PluginConfig,
    PluginError,
    RecordType,
)


class Failing(DataSource[PluginConfig]):
    """Replays ``inner`` for ``after`` events, then fails the way ``how`` says."""

    name = "failing-feed"

    def __init__(self, inner: DataSource[Any], after: int, how: str) -> None:
        super().__init__(PluginConfig())
        self.inner = inner
        self.after = after
        self.how = how

    def instruments(self) -> Sequence[Instrument]:
        return self.inner.instruments()

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        count = 0
        async for event in self.inner.stream(start, end):
            if count == self.after:
                break
            count += 1
            yield event
        if self.how == "raise":
            raise ConnectionResetError("feed socket closed by peer")
        if self.how == "hang":
            await asyncio.Event().wait()
        if self.how == "garbage":
            yield {"ts": "2024-01-01", "close": "NaN"}  # type: ignore[misc]


def _sources(how: str, after: int = 20) -> list[DataSource[Any]]:
    btc = market(symbols=("BTC/USDT",), bars=80)
    eth = Failing(market(symbols=("ETH/USDT",), bars=80, seed=4), after=after, how=how)
    return [btc, eth]


def test_a_raising_source_ends_the_session_with_a_named_typed_error() -> None:
    sources = GuardedSources(
        _sources("raise"), names=["btc", "eth"], fences=[Fence("synthetic"), Fence("acme-feeds")]
    )
    engine = build_engine({"momentum": Momentum(PluginConfig())}, sources=sources)
    with pytest.raises(DataSourceFailedError) as caught:
        asyncio.run(run(engine))
    error = caught.value
    # what `cryptobot run` catches to print one line and exit 1
    assert isinstance(error, CryptoBotError)
    assert isinstance(error, DataSourceError)
    assert (error.source, error.plugin) == ("eth", "acme-feeds")
    assert str(error) == (
        "plugin acme-feeds: data source 'eth' failed: stream() raised ConnectionResetError: "
        "feed socket closed by peer"
    )
    assert isinstance(error.__cause__, PluginError)
    # the session was closed with the reason before the error left the engine's hands
    stops = [p for t, p in memory_records(engine) if t is RecordType.SYSTEM_STOP]
    assert len(stops) == 1


def test_a_plain_list_of_sources_is_named_after_each_source() -> None:
    engine = build_engine({"momentum": Momentum(PluginConfig())}, sources=_sources("raise"))
    with pytest.raises(DataSourceFailedError, match="data source 'failing-feed' failed"):
        asyncio.run(run(engine))


def test_degrade_drops_the_failed_source_records_it_once_and_trades_on_the_other() -> None:
    sources = GuardedSources(_sources("raise"), names=["btc", "eth"], on_failure="degrade")
    engine = build_engine({"momentum": Momentum(PluginConfig())}, sources=sources)
    sources.on_degraded = lambda name, error: engine.ledger.append(*degraded_record(name, error))
    asyncio.run(run(engine))

    assert engine.stats.events == 80 + 20  # all of btc, eth until it failed
    records = memory_records(engine)
    alerts = [p for t, p in records if t is RecordType.ALERT]
    assert len(alerts) == 1
    (alert,) = alerts
    assert (alert["source"], alert["event"]) == ("eth", "data_source_dropped")
    assert "ConnectionResetError: feed socket closed by peer" in alert["detail"]
    log = engine.ledger.records  # type: ignore[attr-defined]
    intents = [(ts, p["request"]["symbol"]) for t, p, ts in log if t is RecordType.ORDER_INTENT]
    last_eth = max(ts for ts, symbol in intents if symbol == "ETH/USDT")
    # ETH traded on the bars it delivered; BTC went on trading after ETH's feed was gone
    assert any(ts > last_eth for ts, symbol in intents if symbol == "BTC/USDT")
    assert last_eth < engine.equity_curve[-1][0]
    stops = [p for t, p in records if t is RecordType.SYSTEM_STOP]
    assert [s["reason"] for s in stops] == ["completed"]


def test_a_hanging_source_is_cut_off_at_its_per_item_budget() -> None:
    sources = GuardedSources(_sources("hang", after=5), names=["btc", "eth"], budget_per_item=0.01)
    events: list[MarketEvent] = []

    async def consume() -> None:
        async for event in merged(sources, None, None):
            events.append(event)

    with pytest.raises(DataSourceFailedError) as caught:
        asyncio.run(consume())
    assert caught.value.source == "eth"
    assert isinstance(caught.value.__cause__, PluginTimeoutError)
    assert "stream() gave no item within its 0.01 s budget" in str(caught.value)
    assert sum(e.symbol == "ETH/USDT" for e in events) == 5


def test_a_source_emitting_garbage_is_named_and_the_garbage_is_never_yielded() -> None:
    sources = GuardedSources(_sources("garbage", after=3), names=["btc", "eth"])
    seen: list[object] = []

    async def consume() -> None:
        async for event in merged(sources, None, None):
            seen.append(event)

    with pytest.raises(DataSourceFailedError, match=r"emitted dict .*not a MarketEvent"):
        asyncio.run(consume())
    assert all(not isinstance(item, dict) for item in seen)


def test_under_degrade_the_last_source_left_failing_still_ends_the_session() -> None:
    only = GuardedSources(
        [Failing(market(bars=30), after=10, how="raise")], names=["solo"], on_failure="degrade"
    )

    async def consume() -> int:
        return len([event async for event in merged(only, None, None)])

    with pytest.raises(DataSourceFailedError, match="no other data source is left"):
        asyncio.run(consume())


def test_the_merge_says_when_it_waits_for_a_source_and_stops_saying_so_after() -> None:
    seen: list[bool] = []

    class Watched(DataSource[PluginConfig]):
        name = "watched"

        def __init__(self, inner: DataSource[Any]) -> None:
            super().__init__(PluginConfig())
            self.inner = inner

        def instruments(self) -> Sequence[Instrument]:
            return self.inner.instruments()

        async def stream(
            self, start: datetime | None = None, end: datetime | None = None
        ) -> AsyncIterator[MarketEvent]:
            async for event in self.inner.stream(start, end):
                seen.append(guard.waiting_since is not None)  # asked while the merge waits
                yield event

    guard = GuardedSources([Watched(market(bars=5))], budget_per_item=5.0)

    async def consume() -> int:
        count = 0
        async for _event in merged(guard, None, None):
            assert guard.waiting_since is None  # the consumer holds an event: no wait
            count += 1
        return count

    assert asyncio.run(consume()) == 5
    assert seen == [True] * 5
    assert guard.waiting_since is None
