"""Conformance checks of the DataSource contract: ordered, unique, covered, windowed events."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any, ClassVar

import pytest

from crypto_bot_sdk._contracts import Component, DataSource
from crypto_bot_sdk._market import Bar, MarketEvent, MetricPoint, OrderBook, Trade
from crypto_bot_sdk.testing._support import (
    ComponentFactory,
    ContractConformance,
    run_async,
    started,
)

StreamWindow = tuple[datetime | None, datetime | None]


def event_identity(event: MarketEvent) -> Hashable:
    """What makes two events the same observation, even if a resend changed other fields."""
    if isinstance(event, Bar):
        return ("bar", event.symbol, event.venue, event.timeframe, event.ts)
    if isinstance(event, Trade):
        return ("trade", event.symbol, event.venue, event.trade_id)
    if isinstance(event, OrderBook):
        return ("book", event.model_dump_json())
    return ("metric", event.name, event.source, event.symbol,
            tuple(sorted(event.labels.items())), event.ts)


def describe(event: MarketEvent) -> str:
    where = event.symbol if isinstance(event, MetricPoint) else f"{event.symbol}@{event.venue}"
    label = event.name if isinstance(event, MetricPoint) else where
    return f"{event.kind} {label} at {event.ts.isoformat()}"


async def read_stream(
    source: DataSource[Any], window: StreamWindow, max_events: int
) -> list[MarketEvent]:
    """At most ``max_events`` events of ``source.stream(*window)``, closing the stream after."""
    events: list[MarketEvent] = []
    stream = source.stream(*window)
    try:
        async for event in stream:
            events.append(event)
            if len(events) >= max_events:
                break
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return events


class DataSourceConformance(ContractConformance):
    """Checks of a :class:`~crypto_bot_sdk.DataSource`.

    Override ``manifest`` and ``component_factory``; ``stream_window`` when the
    source is only finite over a window (a live source never is: give it a
    replayable window or test it against a recorded feed); ``max_events`` to
    read more or fewer events.
    """

    contract: ClassVar[type[Component[Any]]] = DataSource

    @pytest.fixture
    def stream_window(self) -> StreamWindow:
        """Override: ``(start, end)`` bounding a finite stream; ``(None, None)`` if it is finite."""
        return (None, None)

    @pytest.fixture
    def max_events(self) -> int:
        """Override: how many events the checks read at most."""
        return 5000

    @pytest.fixture
    def kit_events(
        self, component_factory: ComponentFactory, stream_window: StreamWindow, max_events: int
    ) -> list[MarketEvent]:
        """The kit's own: the events of one pass over the window (do not override)."""
        async def scenario() -> list[MarketEvent]:
            async with started(component_factory, (DataSource,)) as source:
                return await read_stream(source, stream_window, max_events)

        collected = run_async(scenario)
        if not collected:
            pytest.fail(
                f"the stream over {stream_window} yielded no events, so nothing can be checked; "
                "override 'stream_window' with a window your source has data for",
                pytrace=False,
            )
        return collected

    def test_stream_yields_market_events(self, kit_events: list[MarketEvent]) -> None:
        kinds = Bar | Trade | OrderBook | MetricPoint
        wrong = [type(e).__qualname__ for e in kit_events if not isinstance(e, kinds)]
        assert not wrong, f"stream yielded objects that are not MarketEvents: {sorted(set(wrong))}"

    def test_timestamps_non_decreasing(self, kit_events: list[MarketEvent]) -> None:
        for index, (before, after) in enumerate(itertools.pairwise(kit_events)):
            assert after.ts >= before.ts, (
                f"event {index + 1} ({describe(after)}) is earlier than event {index} "
                f"({describe(before)}): a stream must be in time order"
            )

    def test_no_duplicate_events(self, kit_events: list[MarketEvent]) -> None:
        seen: dict[Hashable, int] = {}
        for index, event in enumerate(kit_events):
            key = event_identity(event)
            assert key not in seen, (
                f"event {index} ({describe(event)}) repeats event {seen[key]}: "
                "a stream must not emit the same observation twice"
            )
            seen[key] = index

    def test_instruments_cover_event_symbols(
        self, component_factory: ComponentFactory, kit_events: list[MarketEvent]
    ) -> None:
        async def scenario() -> Sequence[Any]:
            async with started(component_factory, (DataSource,)) as source:
                return tuple(source.instruments())

        instruments = run_async(scenario)
        listed = {(inst.symbol, inst.venue) for inst in instruments}
        assert len(listed) == len(instruments), (
            f"instruments() lists a (symbol, venue) more than once: {sorted(listed)}"
        )
        traded = {
            (e.symbol, e.venue) for e in kit_events if isinstance(e, Bar | Trade | OrderBook)
        }
        missing = sorted(traded - listed)
        assert not missing, (
            f"the stream has events for {missing}, which instruments() does not list "
            f"(it lists {sorted(listed)})"
        )

    def test_window_respected(
        self,
        component_factory: ComponentFactory,
        stream_window: StreamWindow,
        max_events: int,
        kit_events: list[MarketEvent],
    ) -> None:
        start, end = stream_window
        for event in kit_events:
            assert start is None or event.ts >= start, (
                f"{describe(event)} is before the window start {start}"
            )
            assert end is None or event.ts < end, (
                f"{describe(event)} is not before the (exclusive) window end {end}"
            )
        distinct = sorted({e.ts for e in kit_events})
        if len(distinct) < 3:
            return
        sub_start, sub_end = distinct[len(distinct) // 3], distinct[2 * len(distinct) // 3]
        expected = sum(1 for e in kit_events if sub_start <= e.ts < sub_end)

        async def scenario() -> list[MarketEvent]:
            async with started(component_factory, (DataSource,)) as source:
                return await read_stream(source, (sub_start, sub_end), max_events)

        inner = run_async(scenario)
        outside = [describe(e) for e in inner if not sub_start <= e.ts < sub_end]
        assert not outside, (
            f"stream({sub_start.isoformat()}, {sub_end.isoformat()}) yielded events outside "
            f"[start, end): {outside[:3]}"
        )
        assert inner or not expected, (
            f"stream({sub_start.isoformat()}, {sub_end.isoformat()}) yielded nothing, though "
            f"the full stream has {expected} events in that window"
        )

    @pytest.mark.requires_capability("history")
    def test_history_returns_one_symbol_in_window(
        self, component_factory: ComponentFactory, kit_events: list[MarketEvent]
    ) -> None:
        with_symbol = [e for e in kit_events if e.symbol is not None]
        if not with_symbol:
            pytest.fail("the stream has no event with a symbol to ask history() for", pytrace=False)
        symbol = str(with_symbol[0].symbol)
        start, end = with_symbol[0].ts, kit_events[-1].ts
        if end <= start:
            pytest.fail("the stream spans no time, so no history window can be chosen",
                        pytrace=False)

        async def scenario() -> Sequence[MarketEvent]:
            async with started(component_factory, (DataSource,)) as source:
                return tuple(await source.history(symbol, start, end))

        history = run_async(scenario)
        assert history, f"history({symbol!r}, {start}, {end}) returned nothing"
        for event in history:
            assert event.symbol == symbol, f"history({symbol!r}) returned {describe(event)}"
            assert start <= event.ts < end, f"history returned {describe(event)} outside the window"
        stamps = [e.ts for e in history]
        assert stamps == sorted(stamps), f"history({symbol!r}) is not in time order"
        keys = [event_identity(e) for e in history]
        assert len(set(keys)) == len(keys), f"history({symbol!r}) repeats events"

    @pytest.mark.requires_capability("deterministic")
    def test_fresh_instances_replay_identically(
        self,
        component_factory: ComponentFactory,
        stream_window: StreamWindow,
        max_events: int,
        kit_events: list[MarketEvent],
    ) -> None:
        async def scenario() -> list[MarketEvent]:
            async with started(component_factory, (DataSource,)) as source:
                return await read_stream(source, stream_window, max_events)

        again = run_async(scenario)
        first_difference = next(
            (i for i, (a, b) in enumerate(zip(kit_events, again, strict=False)) if a != b), None
        )
        assert first_difference is None, (
            "a fresh instance streamed different events over the same window (first "
            f"difference at index {first_difference}); the manifest declares 'deterministic'"
        )
        assert len(again) == len(kit_events), (
            f"a fresh instance streamed {len(again)} events over the same window, the first "
            f"{len(kit_events)}; the manifest declares 'deterministic'"
        )
