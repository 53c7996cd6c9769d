"""The fill stream: the user-data websocket (ccxt.pro), reconciled over REST.

Fills arrive as ``ORDER_TRADE_UPDATE`` events. The websocket is best-effort
by nature: on a disconnect the watcher backs off, fetches what it missed over
REST, and resubscribes (asking for a fresh listenKey, since an expired one is
a common reason for the drop). Independently, every ``poll_interval_s`` the
stream reconciles over REST, which closes the gap between a fill and the
(re)subscription and is the whole mechanism when ``stream`` is off. Fills are
deduplicated by id, so every fill is pushed exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_bot_sdk import AuthenticationError, ClockSkewError, ExchangeError, Fill
from cryptobot_binance_futures.connection import Connection, is_client_error
from cryptobot_binance_futures.errors import to_sdk_error
from cryptobot_binance_futures.fills import FillBook
from cryptobot_binance_futures.wire import fill_of_update

log = logging.getLogger(__name__)

FATAL = (AuthenticationError, ClockSkewError)
"""Errors no reconnect can cure: the stream ends and says why."""


class StreamStats:
    """Counters an operator (and the tests) can read to see the stream's health."""

    def __init__(self) -> None:
        self.disconnects = 0
        self.pushed = 0
        self.streamed = 0
        self.recovered = 0
        self.last_error = ""


class WebsocketWatcher:
    """Feeds fills from ccxt.pro's ``watch_my_trades`` into a queue, reconnecting forever."""

    def __init__(self, conn: Connection, book: FillBook, queue: asyncio.Queue[Fill],
                 stats: StreamStats) -> None:  # fmt: skip
        self.conn = conn
        self.book = book
        self.queue = queue
        self.stats = stats

    async def run(self) -> None:
        delay = self.conn.config.retry_backoff_s
        while True:
            try:
                trades = await self.conn.client.watch_my_trades()
            except Exception as exc:
                if not is_client_error(exc):
                    raise
                error = to_sdk_error(exc, venue=self.conn.venue, action="watching own trades")
                self.stats.disconnects += 1
                self.stats.last_error = str(error)
                log.warning(
                    "%s: user-data stream dropped (%s); reconnecting", self.conn.venue, error
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.conn.config.reconnect_max_s)
                self._renew_listen_key()
                await self._recover()
                continue
            delay = self.conn.config.retry_backoff_s
            for trade in trades:
                fill = self._fill(trade)
                if fill is not None:
                    self.stats.streamed += 1
                    self.book.add(fill)
                    self.queue.put_nowait(fill)

    def _fill(self, trade: dict[str, Any]) -> Fill | None:
        info = trade.get("info") or {}
        market_id = str(info.get("s", ""))
        symbol = self.conn.symbols_by_id.get(market_id)
        if symbol is None:
            return None
        return fill_of_update(info, symbol=symbol, venue=self.conn.venue)

    def _renew_listen_key(self) -> None:
        # ccxt reuses a listenKey for 20 minutes; after a drop, ask Binance again (it hands
        # back the same key while that one is still valid).
        for bucket in self.conn.client.options.values():
            if isinstance(bucket, dict) and "lastAuthenticatedTime" in bucket:
                bucket["lastAuthenticatedTime"] = 0

    async def _recover(self) -> None:
        """While the websocket is down, REST finds what it would have pushed."""
        for symbol in self.book.active_symbols():
            try:
                new = await self.book.sync(symbol)
            except ExchangeError as exc:
                if isinstance(exc, FATAL):
                    raise
                self.stats.last_error = str(exc)
                return
            for fill in new:
                self.stats.recovered += 1
                self.queue.put_nowait(fill)


async def fill_stream(conn: Connection, book: FillBook, stats: StreamStats) -> AsyncIterator[Fill]:
    """Own fills from now on, each exactly once, until the consumer stops iterating."""
    conn.require_open()
    tolerance = timedelta(seconds=conn.config.poll_interval_s + 5)
    started = datetime.now(UTC) - tolerance
    pushed: set[str] = set()
    queue: asyncio.Queue[Fill] = asyncio.Queue()
    watcher: asyncio.Task[None] | None = None
    if conn.config.stream:
        watcher = asyncio.ensure_future(WebsocketWatcher(conn, book, queue, stats).run())
    interval = conn.config.poll_interval_s
    next_reconcile = time.monotonic() + interval
    try:
        while True:
            if watcher is not None and watcher.done():
                watcher.result()  # a fatal error ends the stream with its reason
            batch: list[Fill] = []
            try:
                timeout = max(0.0, next_reconcile - time.monotonic())
                batch.append(await asyncio.wait_for(queue.get(), timeout))
            except TimeoutError:
                next_reconcile = time.monotonic() + interval
                batch.extend(await _reconcile(book, started, stats))
            for fill in sorted(batch, key=lambda f: (f.ts, f.fill_id)):
                if fill.fill_id in pushed or fill.ts < started:
                    continue
                pushed.add(fill.fill_id)
                stats.pushed += 1
                yield fill
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher


async def _reconcile(book: FillBook, since: datetime, stats: StreamStats) -> list[Fill]:
    try:
        return await book.fetch(None, since)
    except ExchangeError as exc:
        if isinstance(exc, FATAL):
            raise
        stats.last_error = str(exc)
        return []
