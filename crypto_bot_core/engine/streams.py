"""Merging the data sources' streams into one time-ordered stream, each behind its fence.

A data source is plugin code reading files, sockets or services: it can
raise, hang, or emit something that is not an event. Each step of each stream
goes through the source's fence (with the per-item budget, when one is set)
and each item is checked (:func:`~crypto_bot_core.engine.checks.check_event`).
A failure is never a raw traceback: it names the source, then, as configured
(``data_source_failure``), either ends the session with
:class:`DataSourceFailedError` or drops that source, reports it (an alert in
the ledger) and carries on with the others.

The kernel calls ``merged(engine.data_sources, start, end)``. The composition
root configures the guard by handing the engine a :class:`GuardedSources`
(a list of the sources that also carries their names, fences, budget and
failure policy); a plain sequence gets the defaults: named after each
source, no budget, stop on failure.
"""

from __future__ import annotations

import contextlib
import heapq
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from crypto_bot_core.engine.checks import check_event
from crypto_bot_core.host.fence import DataSourceFailedError, Fence, PluginResultError
from crypto_bot_sdk import CryptoBotError, DataSource, MarketEvent, PluginError, RecordType

OnFailure = Literal["stop", "degrade"]


class GuardedSources(list[DataSource[Any]]):
    """The run's data sources with how their streams are fenced (see the module doc).

    A list, so everything that iterates the engine's sources (start, close,
    instruments) sees the sources themselves, not wrappers that would hide
    their capabilities.
    """

    def __init__(
        self,
        sources: Iterable[DataSource[Any]],
        *,
        names: Sequence[str] | None = None,
        fences: Sequence[Fence] | None = None,
        budget_per_item: float | None = None,
        on_failure: OnFailure = "stop",
        on_degraded: Callable[[str, PluginError], object] | None = None,
    ) -> None:
        super().__init__(sources)
        self.names = list(names) if names is not None else [_name(s) for s in self]
        self.fences = list(fences) if fences is not None else [Fence(n) for n in self.names]
        if not len(self.names) == len(self.fences) == len(self):
            raise ValueError(
                f"{len(self)} data sources need as many names and fences "
                f"(got {len(self.names)} names, {len(self.fences)} fences)"
            )
        if on_failure not in ("stop", "degrade"):
            raise ValueError(f"on_failure {on_failure!r} is not stop or degrade")
        self.budget_per_item = budget_per_item
        self.on_failure: OnFailure = on_failure
        self.on_degraded = on_degraded
        """Called with (source name, error) when a source is dropped; the composition root
        makes it append :func:`degraded_record` to the engine's ledger."""
        self.waiting_since: float | None = None
        """``time.monotonic()`` since when the merge waits for a source's next event (None:
        not waiting). A live feed is quiet between bars; liveness reads this so waiting for
        data, which the per-item budget bounds, is not taken for a stuck loop."""


def _name(source: DataSource[Any]) -> str:
    return str(getattr(source, "name", None) or type(source).__name__)


def degraded_record(source: str, error: PluginError) -> tuple[RecordType, dict[str, Any]]:
    """The ledger record of a data source dropped from a degraded session."""
    return RecordType.ALERT, {
        "source": source,
        "severity": "high",
        "title": "data source failed; the session continues without it",
        "detail": str(error),
        "event": "data_source_dropped",
    }


@dataclass
class _Stream:
    """One source's stream and what the merge needs to know about it."""

    index: int
    name: str
    fence: Fence
    items: AsyncIterator[Any] | None = None
    """The plugin's iterator (kept after the stream is done, to close it)."""
    done: bool = False
    last: datetime | None = None


class _Merge:
    """The failure policy of one merge: which streams still run, and what a failure does."""

    def __init__(self, guard: GuardedSources, streams: list[_Stream]) -> None:
        self.guard = guard
        self.budget = guard.budget_per_item
        self.running = len(streams)

    def failed(self, stream: _Stream, error: PluginError) -> None:
        """Stop the session naming the source, or (degrade) drop it while another one runs."""
        self.running -= 1
        stream.done = True
        if self.guard.on_failure == "degrade" and self.running > 0:
            if self.guard.on_degraded is not None:
                self.guard.on_degraded(stream.name, error)
            return
        degrading = self.guard.on_failure == "degrade"
        left = " and no other data source is left to continue with" if degrading else ""
        raise DataSourceFailedError(
            f"data source {stream.name!r} failed{left}: {error.reason}",
            source=stream.name,
            plugin=error.plugin,
            distribution=error.distribution,
        ) from error

    def open(self, stream: _Stream, source: DataSource[Any], start: Any, end: Any) -> None:
        try:
            opened: object = stream.fence.call(source.stream, start, end)
        except CryptoBotError as exc:
            self.failed(stream, exc if isinstance(exc, PluginError) else _named(stream, exc))
            return
        if not isinstance(opened, AsyncIterator):
            self.failed(
                stream,
                PluginResultError(
                    f"stream() returned {type(opened).__name__}, not an async iterator",
                    plugin=stream.fence.plugin,
                    distribution=stream.fence.distribution,
                ),
            )
            return
        stream.items = opened

    async def next(self, stream: _Stream) -> MarketEvent | None:
        """The stream's next checked event; None when it ended or was dropped."""
        items = stream.items
        if stream.done or items is None:
            return None
        guard = self.guard
        try:
            guard.waiting_since = time.monotonic()
            try:
                item = await stream.fence.next_item(items, "stream()", budget=self.budget)
            finally:
                guard.waiting_since = None
            event = check_event(item, source=stream.name)
            last = stream.last
            if last is not None and event.ts < last:
                raise PluginResultError(
                    f"its stream went back in time: {event.ts.isoformat()} after "
                    f"{last.isoformat()}; a stream's timestamps must not decrease",
                    plugin=stream.fence.plugin,
                    distribution=stream.fence.distribution,
                )
        except StopAsyncIteration:
            self.running -= 1
            stream.done = True
            return None
        except CryptoBotError as exc:  # a contract error (DataSourceError...) passes the fence
            self.failed(stream, exc if isinstance(exc, PluginError) else _named(stream, exc))
            await _close(stream, self.budget)  # degraded: release what the source holds now
            return None
        stream.last = event.ts
        return event


def _named(stream: _Stream, exc: BaseException) -> PluginError:
    return stream.fence.error(exc, "stream()")


async def _close(stream: _Stream, budget: float | None) -> None:
    """Close the plugin's stream, best effort: the session's own outcome (its result, or
    the failure that ends it) is what the caller must see, not a second error."""
    items, stream.items = stream.items, None
    if items is not None:
        with contextlib.suppress(CryptoBotError):
            await stream.fence.close_stream(items, budget=budget)


async def merged(
    sources: Sequence[DataSource[Any]], start: datetime | None, end: datetime | None
) -> AsyncIterator[MarketEvent]:
    """Events of all sources by timestamp; at equal times the source listed first goes first.

    Raises :class:`DataSourceFailedError` naming the source when one fails and
    the policy is ``stop``, or when none is left to continue with under ``degrade``.
    """
    guard = sources if isinstance(sources, GuardedSources) else GuardedSources(sources)
    streams = [
        _Stream(index, name, fence)
        for index, (name, fence) in enumerate(zip(guard.names, guard.fences, strict=True))
    ]
    merge = _Merge(guard, streams)
    heap: list[tuple[datetime, int, int, MarketEvent]] = []
    counter = 0
    try:
        for source, stream in zip(guard, streams, strict=True):
            merge.open(stream, source, start, end)
        for stream in streams:
            event = await merge.next(stream)
            if event is not None:
                heapq.heappush(heap, (event.ts, stream.index, counter, event))
                counter += 1
        while heap:
            _ts, index, _c, event = heapq.heappop(heap)
            yield event
            nxt = await merge.next(streams[index])
            if nxt is not None:
                counter += 1
                heapq.heappush(heap, (nxt.ts, index, counter, nxt))
    finally:
        for stream in streams:
            await _close(stream, guard.budget_per_item)
