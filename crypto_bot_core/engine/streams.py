"""Merging the data sources' streams into one time-ordered stream."""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from crypto_bot_sdk import DataSource, MarketEvent


async def merged(
    sources: Sequence[DataSource[Any]], start: datetime | None, end: datetime | None
) -> AsyncIterator[MarketEvent]:
    """Events of all sources by timestamp; at equal times the source listed first goes first."""
    iterators = [source.stream(start, end) for source in sources]
    heap: list[tuple[datetime, int, int, MarketEvent]] = []
    counter = 0
    for index, iterator in enumerate(iterators):
        try:
            event = await anext(iterator)
        except StopAsyncIteration:
            continue
        heapq.heappush(heap, (event.ts, index, counter, event))
        counter += 1
    while heap:
        _ts, index, _c, event = heapq.heappop(heap)
        yield event
        try:
            nxt = await anext(iterators[index])
        except StopAsyncIteration:
            continue
        counter += 1
        heapq.heappush(heap, (nxt.ts, index, counter, nxt))
