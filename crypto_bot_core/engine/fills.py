"""Fills from real venues: streamed where the adapter can push them, polled otherwise.

Simulated venues hand the engine their fills as they match market events;
real venues fill on their own time. For those the engine consumes the
adapter's fill stream in the background, and polls ``fetch_fills`` as well
(at most every ``poll_interval`` seconds), which also recovers fills missed
while a stream was down. Duplicates are harmless: the order manager books a
fill id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import ExchangeAdapter, ExchangeError, Fill, PluginError

_OVERRIDES: dict[tuple[type, str], bool] = {}


def overrides(adapter: ExchangeAdapter[Any], method: str) -> bool:
    """Whether the adapter's class implements an optional contract method itself.

    This is how the engine finds a capability (``fill_stream``, ``simulated``
    and the simulated-venue methods of API 1.1): by the method the manifest's
    capability promises, which the host has checked is overridden, never by
    a runtime protocol - those match any class that merely has an attribute of
    the name, and cost tens of microseconds a check. Cached per class, since
    the order manager asks on every order.
    """
    key = (type(adapter), method)
    known = _OVERRIDES.get(key)
    if known is None:
        known = _OVERRIDES[key] = getattr(key[0], method) is not getattr(ExchangeAdapter, method)
    return known


def is_simulated(adapter: ExchangeAdapter[Any]) -> bool:
    return overrides(adapter, "on_market_event")


class VenueFills(Protocol):
    """The fenced venue calls fill syncing makes (the order manager's)."""

    def fence_of(self, venue: str) -> Fence: ...

    async def fetch_fills(
        self, venue: str, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]: ...


@dataclass
class FillSync:
    adapters: Mapping[str, ExchangeAdapter[Any]]
    calls: VenueFills | None = None
    """Where the venue calls go: the order manager's fenced, budgeted calls (a failing
    or hanging venue is then named and recorded, never a traceback)."""
    poll_interval: float = 1.0
    since: datetime | None = None
    _queue: asyncio.Queue[Fill] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _last_poll: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    _real: list[str] | None = None

    @property
    def venues(self) -> list[str]:
        """Venues that fill on their own time (not simulated); asked every tick, so cached."""
        if self._real is None:
            self._real = [v for v, a in self.adapters.items() if not is_simulated(a)]
        return self._real

    def start(self) -> None:
        for venue in self.venues:
            adapter = self.adapters[venue]
            if overrides(adapter, "fill_stream"):
                self._tasks.append(asyncio.create_task(self._consume(venue, adapter)))

    async def _consume(self, venue: str, adapter: ExchangeAdapter[Any]) -> None:
        stream: AsyncIterator[Fill] = adapter.fill_stream()
        if self.calls is not None:
            stream = self.calls.fence_of(venue).iterate(stream, "fill_stream()")
        try:
            async for fill in stream:
                self._queue.put_nowait(fill)
        except (ExchangeError, PluginError) as exc:
            # The stream gave up; polling carries on and recovers what it misses.
            self.errors.append(f"{venue}: fill stream stopped: {exc}")

    async def collect(self, *, force: bool = False) -> list[Fill]:
        """Fills that arrived since the last call (streamed, and polled when due)."""
        fills: list[Fill] = []
        while not self._queue.empty():
            fills.append(self._queue.get_nowait())
        now = time.monotonic()
        for venue in self.venues:
            if not force and now - self._last_poll.get(venue, 0.0) < self.poll_interval:
                continue
            self._last_poll[venue] = now
            try:
                if self.calls is not None:
                    fills.extend(await self.calls.fetch_fills(venue, since=self.since))
                else:
                    fills.extend(await self.adapters[venue].fetch_fills(since=self.since))
            except ExchangeError as exc:
                self.errors.append(f"{venue}: fetch_fills failed: {exc}")
        fills.sort(key=lambda f: (f.ts, f.fill_id))
        return fills

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
